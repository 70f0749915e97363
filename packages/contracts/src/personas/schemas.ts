import { z } from 'zod';
import { pageOf, timestampSchema } from '../common';
import { documentFilterSchema } from '../collections/document-filter';
import { jsonNumber } from '../json-number';

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

/** Widest threshold any metric accepts (cosine −1…1, euclidean 0…2); each metric narrows it. */
const THRESHOLD_RANGE = [-1, 2] as const;
export const thresholdSchema = jsonNumber(
  z.number().min(THRESHOLD_RANGE[0]).max(THRESHOLD_RANGE[1]),
);

/** Why a threshold does not fit its metric, or undefined when it does. */
export function thresholdMisfit(metric: QueryMetric, threshold: number): string | undefined {
  const [min, max] = METRIC_RANGES[metric];
  if (threshold >= min && threshold <= max) return undefined;
  return `For the ${metric} metric the threshold must be between ${min} and ${max}`;
}

/** The threshold's range depends on the metric it is read in (cosine −1…1, euclidean 0…2). */
const ragInputSchema = z
  .strictObject({
    db_collections: z.array(collectionNameSchema).max(50).optional(),
    query_threshold: thresholdSchema.optional(),
    query_metric: queryMetricSchema.optional(),
    top_k: jsonNumber(z.number().int().min(1).max(20)).optional(),
    mode: ragModeSchema.optional(),
    filter: documentFilterSchema
      .meta({
        description: `The documents the persona retrieves from, by their attributes, as the search route's \`filter\`: every key must match; a list means any of its values; a document without the key does not match; values compare as JSON (\`1\` is not \`"1"\`). Replaces the stored filter; \`{}\` removes it.`,
      })
      .optional(),
  })
  // On the rag object, not the body: trpc-to-openapi documents a refined body as a plain
  // z.object, which would drop `additionalProperties: false` from the document.
  .superRefine((rag, ctx) => {
    if (rag.query_threshold === undefined || rag.query_metric === undefined) return;
    const misfit = thresholdMisfit(rag.query_metric, rag.query_threshold);
    if (misfit) ctx.addIssue({ code: 'custom', path: ['query_threshold'], message: misfit });
  });

/** Every writable field, all optional; create requires a name, update takes the id from the path. */
const personaFieldsSchema = z
  .strictObject({
    persona_name: z.string().trim().min(1).max(100),
    creator_id: z.string().min(1).max(100),
    description: z.string().max(2000),
    system_prompt: z.string().max(20_000),
    model: z.string().trim().min(1).max(200),
    temperature: jsonNumber(z.number().min(0).max(2)),
    visibility: personaVisibilitySchema,
    rag: ragInputSchema,
  })
  .partial();

export const buildPersonaInputSchema = personaFieldsSchema.required({ persona_name: true });
export type BuildPersonaInput = z.infer<typeof buildPersonaInputSchema>;

/**
 * The read-only fields of a persona's representation besides `persona_id` (which names the
 * persona: the path on REST). Its update accepts them and drops them, so a client can send back
 * what it read.
 */
const readOnlyPersonaFields = {
  created_at: timestampSchema.optional().meta({ description: 'Read-only: accepted and ignored' }),
  updated_at: timestampSchema.optional().meta({ description: 'Read-only: accepted and ignored' }),
};

/** Any subset of the fields. The persona id travels in the path, never in the body. */
export const updatePersonaInputSchema = personaFieldsSchema
  .extend({ persona_id: z.string().min(1).max(100), ...readOnlyPersonaFields })
  // A transform, not a schema without those keys: they must still pass strictness.
  .transform(({ created_at: _created, updated_at: _updated, ...input }) => input);
export type UpdatePersonaInput = z.infer<typeof updatePersonaInputSchema>;

export const personaIdInputSchema = z.strictObject({ persona_id: z.string().min(1).max(100) });

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
      filter: documentFilterSchema.meta({
        description:
          'The documents this persona retrieves from, by their attributes (see the search route); `{}` when it retrieves from all',
      }),
    }),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  })
  .meta({ id: 'Persona' });
export type Persona = z.infer<typeof personaSchema>;

export const personaListSchema = pageOf('personas', personaSchema);
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
