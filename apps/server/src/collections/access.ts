import type { Role } from '@personas/contracts';

export interface CollectionAccessFacts {
  owner_id: string;
  visibility: 'private' | 'shared';
}

/**
 * Who may read a collection: its owner and admins always; a `shared` one also every builder.
 * Plain users never read collections directly (they reach knowledge only through personas).
 */
export function canReadCollection(
  reader: { id: string; role: Role },
  collection: CollectionAccessFacts,
): boolean {
  if (reader.role === 'admin' || collection.owner_id === reader.id) return true;
  return collection.visibility === 'shared' && reader.role === 'builder';
}
