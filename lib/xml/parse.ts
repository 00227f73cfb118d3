// Well-formedness and a small element tree over saxes, a strict non-validating XML parser.
// saxes never reads a DTD's entities: an entity bomb or an external entity is an undefined
// entity (an error), never an expansion or a fetch, so time and memory stay linear in the input.
import { createSaxesParser } from './saxes.js';
import { SaveImageError } from '../errors.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element. */
  text: string;
}

/** Which stored block a text came from, for error messages ("domain XML at offset 92"). */
export interface XmlSource {
  what: string;
  offset: number;
}

/** Parses a whole document into a tree, or throws ERR_BAD_XML naming the block, offset and line. */
export function parseXml(text: string, source: XmlSource): XmlElement {
  const parser = createSaxesParser({ position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  parser.on('opentag', (tag) => {
    const element: XmlElement = { name: tag.name, attributes: { ...(tag.attributes as Record<string, string>) }, children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('closetag', () => void stack.pop());
  const addText = (data: string): void => {
    const current = stack[stack.length - 1];
    if (current) current.text += data;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  try {
    parser.write(text).close();
  } catch (error) {
    throw badXml(source, error);
  }
  if (root === null) throw badXml(source, new Error('document must contain a root element'));
  return root;
}

/** The name of the root element, or null when the text is not well-formed XML. */
export function rootElementName(text: string): string | null {
  try {
    return parseXml(text, { what: 'block', offset: 0 }).name;
  } catch {
    return null;
  }
}

/** The first child element with this name. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

function badXml(source: XmlSource, error: unknown): SaveImageError {
  const reason = error instanceof Error ? error.message : String(error);
  return new SaveImageError('ERR_BAD_XML', `${source.what} at offset ${source.offset} is not well-formed XML: ${reason}`, {
    offset: source.offset,
    cause: error,
  });
}
