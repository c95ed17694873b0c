/** The webview's typed channel to the host, and its persisted state. */
import type { FromWebview, PersistedState } from '../protocol/messages';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();

/** Sends one message of the protocol to the host. */
export function send(message: FromWebview): void {
  api.postMessage(message);
}

/** What this webview persisted (after a reload), if it looks like ours; the host validates it again. */
export function persisted(): PersistedState | undefined {
  const s = api.getState() as PersistedState | undefined;
  return s && s.version === 1 ? s : undefined;
}

export function persist(state: PersistedState): void {
  api.setState(state);
}
