// binary-parser ships .d.ts files but no "types" entry that nodenext resolution finds (TS7016).
declare module 'binary-parser' {
  export { Parser } from 'binary-parser/dist/binary_parser.js';
}
