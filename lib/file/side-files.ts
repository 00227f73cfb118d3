// Names of the files savekit keeps beside an image while it edits it in place. They lie beside
// the file itself, symlinks followed: an edit through a link and one through the real path
// meet the same lock, and a journal left by a crash is found whichever name is used next.
import { realpathSync } from 'node:fs';

/** The file `imagePath` names, symlinks resolved (the path itself when it does not resolve). */
export function imageFileOf(imagePath: string): string {
  try {
    return realpathSync(imagePath);
  } catch {
    return imagePath; // a missing image: opening it reports why
  }
}

/** The undo journal of an in-place edit; while it exists the image must be recovered first. */
export function journalPathOf(imagePath: string): string {
  return `${imageFileOf(imagePath)}.savekit-journal`;
}

/** The exclusive lock of an editor. */
export function lockPathOf(imagePath: string): string {
  return `${imageFileOf(imagePath)}.savekit-lock`;
}
