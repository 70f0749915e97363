import {
  type AuthUser,
  BadRequestError,
  ForbiddenError,
  METRIC_DEFAULTS,
  METRIC_RANGES,
  NotFoundError,
  type Persona,
  type QueryMetric,
  type RagMode,
  type Role,
  type Services,
} from '@personas/contracts';
import { auditRepository } from '../audit/repository';
import { canReadCollection } from '../collections/access';
import type { Db } from '../db/connect';
import { isUuid } from '../lib/uuid';
import { usersRepository } from '../users/repository';
import { type PersonaCollection, type PersonaRecord, personasRepository } from './repository';

const PERSONA_NOT_FOUND = 'Persona not found';
const UNKNOWN_USER = 'Invalid user_id: User does not exist';
const DEFAULT_TEMPERATURE = 0.7;
const DEFAULT_TOP_K = 4;

export interface PersonasServiceOptions {
  defaultModel: string;
  defaultRagMode: RagMode;
}

/** A persona someone may see, with the collections its creator may still read (see below). */
export type VisiblePersona = PersonaRecord & { readableCollections: PersonaCollection[] };

function toPersonaDto(p: PersonaRecord): Persona {
  return {
    persona_id: p.id,
    persona_name: p.name,
    creator_id: p.creator_id,
    description: p.description,
    system_prompt: p.system_prompt,
    model: p.model,
    temperature: p.temperature,
    visibility: p.visibility,
    rag: {
      db_collections: p.collections.map((c) => c.name),
      query_threshold: p.query_threshold,
      query_metric: p.query_metric,
      top_k: p.top_k,
      mode: p.rag_mode,
      filter: p.rag_filter,
    },
    created_at: p.created_at.toISOString(),
    updated_at: p.updated_at.toISOString(),
  };
}

/** Who is asking to see a persona: a creator of one has no API-key limit. */
type Viewer = Pick<AuthUser, 'id' | 'role'> & Partial<Pick<AuthUser, 'personaIds'>>;

/**
 * Private personas exist only for their creator and admins: everyone else gets a 404. An API key
 * limited to some personas (`persona_ids`) sees only those, whoever owns it.
 */
function canSeePersona(actor: Viewer, p: { id: string; visibility: string; creator_id: string }) {
  if (actor.personaIds && !actor.personaIds.includes(p.id)) return false;
  return p.visibility === 'public' || p.creator_id === actor.id || actor.role === 'admin';
}

function canEditPersona(actor: AuthUser, p: { creator_id: string }) {
  return actor.role === 'admin' || p.creator_id === actor.id;
}

function assertThresholdFits(metric: QueryMetric, threshold: number) {
  const [min, max] = METRIC_RANGES[metric];
  if (threshold < min || threshold > max) {
    throw new BadRequestError(
      `For the ${metric} metric the threshold must be between ${min} and ${max}`,
    );
  }
}

/**
 * The persona `actor` may see (404 otherwise), read in one query. Used by this service and handed
 * to the chat service. `readableCollections` are those its creator may still read: rights can
 * change after the persona was built, and a persona never searches beyond its creator's.
 */
export async function findVisiblePersona(
  db: Db,
  actor: Viewer,
  personaId: string,
): Promise<VisiblePersona> {
  const persona = isUuid(personaId) ? await personasRepository.findById(db, personaId) : undefined;
  if (!persona || !canSeePersona(actor, persona)) throw new NotFoundError(PERSONA_NOT_FOUND);
  const creator = { id: persona.creator_id, role: persona.creator_role };
  return {
    ...persona,
    readableCollections: persona.collections.filter((c) => canReadCollection(creator, c)),
  };
}

export function createPersonasService(db: Db, opts: PersonasServiceOptions): Services['personas'] {
  const findVisible = (actor: AuthUser, personaId: string) =>
    findVisiblePersona(db, actor, personaId);

  async function findUser(userId: string) {
    const user = isUuid(userId) ? await usersRepository.findById(db, userId) : undefined;
    if (!user) throw new NotFoundError(UNKNOWN_USER);
    return user;
  }

  /**
   * Collection names → ids, in order, checked for the persona's creator. A collection the caller
   * cannot read is answered as unknown (404: they may not know it exists); one the caller can read
   * but the creator cannot is a 403.
   */
  async function resolveCollections(
    actor: AuthUser,
    creator: { id: string; role: Role },
    names: string[],
  ): Promise<string[]> {
    const unique = [...new Set(names)];
    if (unique.length === 0) return [];
    const rows = await personasRepository.collectionsNamed(db, unique);
    const byName = new Map(rows.map((r) => [r.name, r]));
    return unique.map((name) => {
      const collection = byName.get(name);
      if (!collection || !canReadCollection(actor, collection)) {
        throw new NotFoundError(`Collection not found: ${name}`);
      }
      if (!canReadCollection(creator, collection)) {
        throw new ForbiddenError(`The persona's creator may not read the collection ${name}`);
      }
      return collection.id;
    });
  }

  return {
    async owned(actor) {
      const rows = await personasRepository.listOwned(db, actor.id);
      const seen = rows.filter((r) => !actor.personaIds || actor.personaIds.includes(r.id));
      return Object.fromEntries(seen.map((r) => [r.id, r.name]));
    },

    async build(actor, input) {
      const creator = input.creator_id === undefined ? actor : await findUser(input.creator_id);
      if (creator.id !== actor.id && actor.role !== 'admin') {
        throw new ForbiddenError('Builders may only create personas for themselves');
      }
      const metric = input.rag?.query_metric ?? 'cosine';
      const threshold = input.rag?.query_threshold ?? METRIC_DEFAULTS[metric];
      assertThresholdFits(metric, threshold);
      const collectionIds = await resolveCollections(
        actor,
        creator,
        input.rag?.db_collections ?? [],
      );
      const row = await db.transaction().execute(async (trx) => {
        const inserted = await personasRepository.insert(trx, {
          name: input.persona_name,
          creator_id: creator.id,
          description: input.description ?? '',
          system_prompt: input.system_prompt ?? '',
          model: input.model ?? opts.defaultModel,
          temperature: input.temperature ?? DEFAULT_TEMPERATURE,
          visibility: input.visibility ?? 'public',
          query_metric: metric,
          query_threshold: threshold,
          top_k: input.rag?.top_k ?? DEFAULT_TOP_K,
          rag_mode: input.rag?.mode ?? opts.defaultRagMode,
          rag_filter: JSON.stringify(input.rag?.filter ?? {}),
        });
        await personasRepository.setCollections(trx, inserted.id, collectionIds);
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'persona.created',
          targetId: inserted.id,
        });
        return inserted;
      });
      return {
        message: 'Persona created successfully',
        persona_id: row.id,
        persona_name: row.name,
      };
    },

    async update(actor, input) {
      const persona = await findVisible(actor, input.persona_id);
      if (!canEditPersona(actor, persona)) {
        throw new ForbiddenError("Only the persona's creator or an admin may change it");
      }
      let creator: { id: string; role: Role } | undefined;
      if (input.creator_id !== undefined && input.creator_id !== persona.creator_id) {
        if (actor.role !== 'admin') throw new ForbiddenError('Only an admin may change creator_id');
        creator = await findUser(input.creator_id);
      }
      const rag = input.rag ?? {};
      const metric = rag.query_metric ?? persona.query_metric;
      // A new metric without a new threshold starts from that metric's default: the old number
      // meant something else (a similarity floor vs a distance ceiling).
      const threshold =
        rag.query_threshold ??
        (metric === persona.query_metric ? persona.query_threshold : METRIC_DEFAULTS[metric]);
      assertThresholdFits(metric, threshold);

      let collectionIds: string[] | undefined;
      if (rag.db_collections !== undefined || creator) {
        const owner = creator ?? { id: persona.creator_id, role: persona.creator_role };
        collectionIds = await resolveCollections(
          actor,
          owner,
          rag.db_collections ?? persona.collections.map((c) => c.name),
        );
      }
      await db.transaction().execute(async (trx) => {
        await personasRepository.update(trx, persona.id, {
          name: input.persona_name,
          creator_id: creator?.id,
          description: input.description,
          system_prompt: input.system_prompt,
          model: input.model,
          temperature: input.temperature,
          visibility: input.visibility,
          query_metric: metric,
          query_threshold: threshold,
          top_k: rag.top_k,
          rag_mode: rag.mode,
          rag_filter: rag.filter === undefined ? undefined : JSON.stringify(rag.filter),
        });
        if (collectionIds) await personasRepository.setCollections(trx, persona.id, collectionIds);
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'persona.updated',
          targetId: persona.id,
        });
      });
      return { message: 'Persona updated successfully' };
    },

    async delete(actor, personaId) {
      const persona = await findVisible(actor, personaId);
      if (!canEditPersona(actor, persona)) {
        throw new ForbiddenError("Only the persona's creator or an admin may delete it");
      }
      await db.transaction().execute(async (trx) => {
        await personasRepository.delete(trx, persona.id);
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'persona.deleted',
          targetId: persona.id,
        });
      });
      return { message: 'Persona deleted successfully' };
    },

    async list(actor, page) {
      const { rows, next_cursor } = await personasRepository.listVisible(db, actor, page);
      return { personas: rows.map(toPersonaDto), next_cursor };
    },

    async get(actor, personaId) {
      return toPersonaDto(await findVisible(actor, personaId));
    },
  };
}
