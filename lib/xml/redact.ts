// Hides secrets in stored XML the way `virsh save-image-dumpxml` does without --security-info
// (libvirt omits `passwd` attributes unless VIR_DOMAIN_XML_SECURE). The stored text is kept
// byte for byte otherwise, so the parser locates each attribute and only that span is cut.
import { createSaxesParser } from './saxes.js';

const SECRET_ATTRIBUTES = new Set(['passwd']);

/** The text with every secret attribute removed; text that does not parse is returned as is. */
export function redactSecrets(text: string): string {
  const cuts: Array<[number, number]> = [];
  const parser = createSaxesParser({ position: true });
  parser.on('attribute', (attribute) => {
    if (SECRET_ATTRIBUTES.has(attribute.name)) cuts.push(attributeSpan(text, parser.position));
  });
  try {
    parser.write(text).close();
  } catch {
    // Not well-formed (info warns, cpu/define/check refuse): still hide what was found before the error.
  }
  return applyCuts(text, cuts);
}

/**
 * The span of the attribute that ends just before `end` (the parser's position after its
 * closing quote), from the whitespace before its name to that quote. A quoted value cannot
 * contain its own quote character, so the previous one opens it.
 */
function attributeSpan(text: string, end: number): [number, number] {
  const quote = text[end - 1]!;
  let i = text.lastIndexOf(quote, end - 2) - 1;
  while (isSpace(text[i])) i--; // before the opening quote
  i--; // the '='
  while (isSpace(text[i])) i--;
  while (i >= 0 && !isSpace(text[i])) i--; // the name
  while (i >= 0 && isSpace(text[i - 1])) i--;
  return [i, end];
}

function applyCuts(text: string, cuts: Array<[number, number]>): string {
  let out = '';
  let from = 0;
  for (const [start, end] of cuts) {
    out += text.slice(from, start);
    from = end;
  }
  return out + text.slice(from);
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}
