// saxes, loaded on first use: commands that never look inside the XML (hash, rewrite without
// --xml, verify) should not pay its start-up cost (about 25 ms).
import { createRequire } from 'node:module';
import type { SaxesParser as SaxesParserType, SaxesOptions } from 'saxes';

type SaxesModule = typeof import('saxes');
let saxes: SaxesModule | undefined;

export function createSaxesParser(options: SaxesOptions = {}): SaxesParserType {
  saxes ??= createRequire(import.meta.url)('saxes') as SaxesModule;
  return new saxes.SaxesParser(options);
}
