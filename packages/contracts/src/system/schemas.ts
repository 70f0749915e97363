import { z } from 'zod';

export const systemInfoSchema = z
  .object({
    name: z.literal('personas'),
    version: z.string(),
    database: z.enum(['pglite', 'postgres']),
    providers: z.object({
      embeddings: z.string().meta({ description: 'Embedding provider in use' }),
      language_model: z.string().meta({ description: 'Language-model provider in use' }),
    }),
    registration: z.enum(['open', 'closed']),
  })
  .meta({ id: 'SystemInfo' });
export type SystemInfo = z.infer<typeof systemInfoSchema>;
