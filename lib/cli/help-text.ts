// The help text of a command (CommandSpec.help) read back as blocks: paragraphs, headings
// ("Options:") and option entries. --help prints the text as written; the man page is laid out
// from these blocks, so both come from the one text.

export type HelpBlock =
  | { kind: 'paragraph'; text: string }
  | { kind: 'heading'; text: string }
  | { kind: 'option'; term: string; description: string }
  /** Indented lines that are not options: a command line to type, kept as written. */
  | { kind: 'example'; lines: string[] };

/** Where an option's description starts in the help text (two spaces, a 20-column term, a space). */
const DESCRIPTION_COLUMN = 23;

/** Splits a help text into blocks; continuation lines join the block before them. */
export function parseHelpText(text: string): HelpBlock[] {
  const blocks: HelpBlock[] = [];
  let open: HelpBlock | null = null;
  const extend = (block: HelpBlock, more: string): void => {
    if (block.kind === 'option') block.description = block.description ? `${block.description} ${more}` : more;
    else if (block.kind === 'example') block.lines.push(more);
    else block.text = `${block.text} ${more}`;
  };
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') {
      open = null;
    } else if (/^ {2}-/.test(line)) {
      open = { kind: 'option', ...splitOption(line) };
      blocks.push(open);
    } else if (/^ {3,}\S/.test(line) && open?.kind === 'option') {
      extend(open, trimmed);
    } else if (/^ {2}/.test(line)) {
      if (open?.kind === 'example') extend(open, line.slice(2));
      else blocks.push((open = { kind: 'example', lines: [line.slice(2)] }));
    } else if (/^[A-Z][A-Za-z ]{0,30}:$/.test(line)) {
      blocks.push({ kind: 'heading', text: trimmed.slice(0, -1) });
      open = null;
    } else if (open?.kind === 'paragraph') {
      extend(open, trimmed);
    } else {
      open = { kind: 'paragraph', text: trimmed };
      blocks.push(open);
    }
  }
  return blocks;
}

function splitOption(line: string): { term: string; description: string } {
  const spaced = /^ {2}(\S.*?) {2,}(\S.*)$/.exec(line);
  if (spaced) return { term: spaced[1]!, description: spaced[2]! };
  // A term that fills its column is followed by one space only ("--max-data-len BYTES refuse ...").
  if (line.length > DESCRIPTION_COLUMN && line[DESCRIPTION_COLUMN - 1] === ' ') {
    return { term: line.slice(2, DESCRIPTION_COLUMN - 1).trim(), description: line.slice(DESCRIPTION_COLUMN).trim() };
  }
  return { term: line.trim(), description: '' }; // a long term: the description follows on the next lines
}
