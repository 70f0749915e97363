import { z } from 'zod';
import { timestampSchema } from '../common';

export const METRIC_DEFAULTS = { cosine: 0.3, euclidean: 1.2 } as const;
export const METRIC_RANGES = { cosine: [-1, 1], euclidean: [0, 2] } as const;

export const queryMetricSchema = z.enum(['cosine', 'euclidean']).meta({
  description:
    'cosine: pass when similarity >= threshold; euclidean: pass when distance <= threshold',
});
export type QueryMetric = z.infer<typeof queryMetricSchema>;
export const ragModeSchema = z
  .enum(['hybrid', 'vector'])
  .meta({ description: 'hybrid: lexical + vector candidates fused by rank; vector: vector only' });
export type RagMode = z.infer<typeof ragModeSchema>;
export const personaVisibilitySchema = z.enum(['public', 'private']);

export const collectionNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,63}$/,
    'Collection names are 1–64 of a-z, 0-9, _ and -, starting with a letter or digit',
  );

const ragInputSchema = z.object({
  db_collections: z.array(collectionNameSchema).max(50).optional(),
  query_threshold: z.number().optional(),
  query_metric: queryMetricSchema.optional(),
  top_k: z.number().int().min(1).max(20).optional(),
  mode: ragModeSchema.optional(),
});

/** The threshold's range depends on the metric it is read in (cosine −1…1, euclidean 0…2). */
function thresholdFitsMetric(
  rag: { query_threshold?: number; query_metric?: QueryMetric } | undefined,
  ctx: z.RefinementCtx,
) {
  if (rag?.query_threshold === undefined || rag.query_metric === undefined) return;
  const [min, max] = METRIC_RANGES[rag.query_metric];
  if (rag.query_threshold < min || rag.query_threshold > max) {
    ctx.addIssue({
      code: 'custom',
      path: ['rag', 'query_threshold'],
      message: `For the ${rag.query_metric} metric the threshold must be between ${min} and ${max}`,
    });
  }
}

/** Every writable field, all optional; create requires a name, update takes the id from the path. */
const personaFieldsSchema = z
  .object({
    persona_name: z.string().trim().min(1).max(100),
    creator_id: z.string().min(1).max(100),
    description: z.string().max(2000),
    system_prompt: z.string().max(20_000),
    model: z.string().trim().min(1).max(200),
    temperature: z.number().min(0).max(2),
    visibility: personaVisibilitySchema,
    rag: ragInputSchema,
  })
  .partial();

export const buildPersonaInputSchema = personaFieldsSchema
  .required({ persona_name: true })
  .superRefine((input, ctx) => thresholdFitsMetric(input.rag, ctx));
export type BuildPersonaInput = z.infer<typeof buildPersonaInputSchema>;

/** Any subset of the fields. The persona id travels in the path, never in the body. */
export const updatePersonaInputSchema = personaFieldsSchema
  .extend({ persona_id: z.string().min(1).max(100) })
  .superRefine((input, ctx) => thresholdFitsMetric(input.rag, ctx));
export type UpdatePersonaInput = z.infer<typeof updatePersonaInputSchema>;

export const personaIdInputSchema = z.object({ persona_id: z.string().min(1).max(100) });

export const personaSchema = z
  .object({
    persona_id: z.string(),
    persona_name: z.string(),
    creator_id: z.string(),
    description: z.string(),
    system_prompt: z.string(),
    model: z.string(),
    temperature: z.number(),
    visibility: personaVisibilitySchema,
    rag: z.object({
      db_collections: z.array(z.string()),
      query_threshold: z.number(),
      query_metric: queryMetricSchema,
      top_k: z.number().int(),
      mode: ragModeSchema,
    }),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  })
  .meta({ id: 'Persona' });
export type Persona = z.infer<typeof personaSchema>;

export const personaListSchema = z.object({ personas: z.array(personaSchema) });
export type PersonaList = z.infer<typeof personaListSchema>;

export const ownedPersonasSchema = z
  .record(z.string(), z.string())
  .meta({ description: '{ "<persona_id>": "<persona_name>", … } — the caller’s own personas' });
export type OwnedPersonas = z.infer<typeof ownedPersonasSchema>;

export const personaCreatedSchema = z.object({
  message: z.literal('Persona created successfully'),
  persona_id: z.string(),
  persona_name: z.string(),
});
export type PersonaCreated = z.infer<typeof personaCreatedSchema>;

export const personaUpdatedSchema = z.object({
  message: z.literal('Persona updated successfully'),
});
export type PersonaUpdated = z.infer<typeof personaUpdatedSchema>;

export const personaDeletedSchema = z.object({
  message: z.literal('Persona deleted successfully'),
});
export type PersonaDeleted = z.infer<typeof personaDeletedSchema>;
