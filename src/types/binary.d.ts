/** `import bytes from 'binary:path'` inlines a built binary file as a Uint8Array (see scripts/build.mjs). */
declare module 'binary:*' {
  const bytes: Uint8Array;
  export default bytes;
}
