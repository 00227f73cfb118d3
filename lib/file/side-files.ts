// Names of the files savekit keeps beside an image while it edits it in place.

/** The undo journal of an in-place edit; while it exists the image must be recovered first. */
export function journalPathOf(imagePath: string): string {
  return `${imagePath}.savekit-journal`;
}

/** The exclusive lock of an editor. */
export function lockPathOf(imagePath: string): string {
  return `${imagePath}.savekit-lock`;
}
