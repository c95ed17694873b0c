/**
 * The part of VS Code's notebook renderer API (the `vscode-notebook-renderer` types) this renderer uses,
 * written out so the renderer needs no extra package.
 */

/** One output item the renderer draws. */
export interface OutputItem {
  /** The output's id: stable while the output exists, shared by its items. */
  readonly id: string;
  readonly mime: string;
  readonly metadata: unknown;
  text(): string;
  json(): unknown;
  data(): Uint8Array;
}

export interface RendererApi {
  renderOutputItem(outputItem: OutputItem, element: HTMLElement, signal?: AbortSignal): void | Promise<void>;
  disposeOutputItem?(id?: string): void;
}

export interface RendererContext<TState = unknown> {
  getState(): TState | undefined;
  setState(newState: TState): void;
  /** Present when the extension host can hear the renderer (requiresMessaging "optional" and a host running). */
  postMessage?(message: unknown): void;
  onDidReceiveMessage?: (listener: (e: unknown) => void) => { dispose(): void };
  readonly workspace: { readonly isTrusted: boolean };
}

export type ActivationFunction<TState = unknown> = (context: RendererContext<TState>) => RendererApi | Promise<RendererApi>;
