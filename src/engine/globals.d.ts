// The two text codecs exist in every runtime the engine runs in (Node, the webview, the notebook renderer),
// but ES2022 alone does not declare them. Only what the engine uses is declared.
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
