import type { CollectionDocument } from '@personas/contracts';
import type { DocumentRow } from '../db/schema';

/** A document row as clients see it: error only when failed, progress only while unfinished. */
export function toDocumentDto(d: DocumentRow): CollectionDocument {
  const unfinished = d.status === 'queued' || d.status === 'processing';
  return {
    document_id: d.id,
    file_name: d.file_name,
    doc_path: d.doc_path,
    status: d.status,
    ...(d.status === 'failed' && d.error_code
      ? { error: { code: d.error_code, detail: d.error_detail ?? '' } }
      : {}),
    ...(unfinished
      ? { progress: { chunks_done: d.chunks_done, chunks_total: d.chunks_total } }
      : {}),
    ...(d.pages !== null ? { pages: d.pages } : {}),
    chunks: d.status === 'ready' ? d.chunk_count : 0,
    bytes: d.bytes,
    content_type: d.content_type,
    attributes: d.attributes,
    ...(d.source_url ? { url: d.source_url } : {}),
    created_at: d.created_at.toISOString(),
    updated_at: d.updated_at.toISOString(),
  };
}
