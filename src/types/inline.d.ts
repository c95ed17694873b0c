/** `import text from 'inline:path'` inlines a built file's text (see scripts/build.mjs). */
declare module 'inline:*' {
  const text: string;
  export default text;
}
