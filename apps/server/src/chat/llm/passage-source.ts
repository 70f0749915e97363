import type { RetrievedPassage } from './language-model';

/**
 * How a passage is named to the model and to the user: the file, its path when that adds
 * anything, and its page when known (`handbook.pdf (hr/handbook.pdf), page 7`), so an answer can
 * cite where in a long document it read something.
 */
export function passageSource(
  passage: Pick<RetrievedPassage, 'file_name' | 'doc_path' | 'page'>,
): string {
  const path = passage.doc_path.trim();
  const file =
    path && path !== passage.file_name ? `${passage.file_name} (${path})` : passage.file_name;
  return typeof passage.page === 'number' ? `${file}, page ${passage.page}` : file;
}
