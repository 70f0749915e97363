import type { RetrievedPassage } from './language-model';

/** How a passage is named to the model and to the user: the file, and its path when that adds anything. */
export function passageSource(passage: Pick<RetrievedPassage, 'file_name' | 'doc_path'>): string {
  const path = passage.doc_path.trim();
  return path && path !== passage.file_name ? `${passage.file_name} (${path})` : passage.file_name;
}
