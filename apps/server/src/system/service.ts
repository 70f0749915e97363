import type { Services, SystemInfo } from '@personas/contracts';
import type { DatabaseKind } from '../db/connect';
import type { Config } from '../env';
import { VERSION } from '../version';

export function createSystemService(
  config: Pick<Config, 'embeddingsProvider' | 'llmProvider' | 'registration'>,
  databaseKind: DatabaseKind,
): Services['system'] {
  const info: SystemInfo = {
    name: 'personas',
    version: VERSION,
    database: databaseKind,
    providers: { embeddings: config.embeddingsProvider, language_model: config.llmProvider },
    registration: config.registration,
  };
  return { info: async () => info };
}
