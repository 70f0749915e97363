const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids in paths and bodies are free strings in the contract (the seed shows ids like "67890"), but
 * the uuid columns would reject them with a database error. Anything not shaped like a uuid
 * cannot name a row: services answer it like any unknown id (404), without querying.
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
