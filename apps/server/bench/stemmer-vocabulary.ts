/**
 * Writes the reference vocabulary `stemmer.test.ts` holds `stemEnglish` to: a few thousand words
 * and the stems the Snowball project's own C build (`stemwords -l english`) gives them.
 *
 *   node --import tsx apps/server/bench/stemmer-vocabulary.ts <path to stemwords>
 *
 * `stemwords` must be built from Snowball 3.1 or later (`make stemwords` in a checkout of
 * github.com/snowballstem/snowball at tag v3.1.1): `stemEnglish` follows the current
 * `english.sbl`, and Snowball 2.x (Debian's `libstemmer-tools` 2.2.0) predates its newer R1
 * prefixes (`past`, `univers`, `later`, `emerg`, `organ`, `inter`), `-ogist` and `vying`.
 *
 * The words are SciFact's lowercase alphabetic tokens: the most frequent ones, then the most
 * frequent ones of each suffix class every step of the algorithm reacts to, then the whole-word
 * exceptions and the words Snowball's newer rules keep apart. Deterministic: the same corpus and
 * `stemwords` give the same file.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadScifact } from './scifact';

const OUTPUT = fileURLToPath(
  new URL('../src/retrieval/lexical/fixtures/snowball-english.tsv', import.meta.url),
);
const MOST_FREQUENT = 3000;
const PER_CLASS = 60;

/** Every suffix or shape some step of Porter2 tests for; each gets its most frequent words. */
const CLASSES: readonly RegExp[] = [
  // Step 1a, and the apostrophes before it
  /'s$/,
  /s'$/,
  /sses$/,
  /ie[ds]$/,
  /[^s]s$/,
  /us$/,
  /ss$/,
  // Step 1b and its repairs
  /eed(ly)?$/,
  /[^e]ed$/,
  /edly$/,
  /ing$/,
  /ingly$/,
  /(at|bl|iz)(ed|ing)$/,
  /(bb|dd|ff|gg|mm|nn|pp|rr|tt)(ed|ing)$/,
  /^[^aeiouy]*[aeiouy][^aeiouy](ed|ing)$/,
  // Step 1c and the y/Y handling
  /[^aeiouy]y$/,
  /[aeiouy]y$/,
  /^y/,
  /[aeiou]y[aeiou]/,
  // Step 2
  /tional$/,
  /[ea]nci$/,
  /abli$/,
  /entli$/,
  /iz(er|ation)$/,
  /at(ion|or)$/,
  /al(ism|iti|li)$/,
  /ful(ness|li)$/,
  /ous(li|ness)$/,
  /iv(eness|iti)$/,
  /bil?i(ti)?$/,
  /ogi(st)?$/,
  /lessli$/,
  /[cdeghkmnrt]li$/,
  /ly$/,
  // Step 3
  /aliz(e|ed|ing)$/,
  /ic(ate|iti|al)$/,
  /(ful|ness)$/,
  /ative$/,
  // Step 4
  /al$/,
  /[ae]nce$/,
  /er$/,
  /ic$/,
  /[ai]ble$/,
  /ant$/,
  /(e)?ment$/,
  /ent$/,
  /ism$/,
  /ate$/,
  /iti$/,
  /ous$/,
  /ive$/,
  /ize$/,
  /[st]ion$/,
  /[^st]ion$/,
  // Step 5
  /[^aeiou]e$/,
  /ll$/,
  // R1 prefixes
  /^(gener|commun|arsen|past|univers|later|emerg|organ|inter)/,
];

/** Whole-word exceptions, and the forms Snowball's newer rules keep apart (or together). */
const CHOSEN = `
skis skies sky ski dying lying tying vying dies lies ties vies idly gently ugly early only singly
news howe atlas cosmos bias andes inning innings outing outings canning cannings herring herrings
earring earrings evening evenings proceed proceeds proceeded proceeding proceedings exceed
exceeds exceeded exceeding succeed succeeds succeeded succeeding agreed bleed feed feeds breed
generate generates generated generating generation general generally generic generous generously
communism communist communication communicate community communities commune arsenic arsenal
past paste pasted pasting pastes pastel universe universes universal universally university
universities lateral laterally later latest emerge emerged emergence emergency emergent organ
organs organic organism organize organized organization intern interns internal internally
international internment interfere interference interval intervals interest interesting
biology biologist biologists archaeology archaeologist geology geologist ecology ecologist
youth youths yearly yes yet young younger toy toys boy boys boy's boys' enjoy enjoying enjoyed
obey obeyed obeying buyer buyers payer says sayings player players cry cries cried by say happy
happily happiness ay aye ayes eye eyes yoyo yolk yield yielded yielding kayak
patient's patients' patient's' 's 'tis ' cat's cats' caresses ponies ties gaps gas this hoping
hopping adding filing luxuriating shouting conditional hopeful hopelessly goodness electrical
adjustment consignment consistency allowance inference adoption revival syllogism controll roll
mice was is as at us be bus ss sss a an the of
`;

function vocabulary(texts: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const raw of text.toLowerCase().split(/[^a-z']+/)) {
      // Keep an inner or possessive apostrophe (cell's, cells'), not quotation marks around a word.
      const word = raw.replace(/^'+/, '').replace(/(?<!s)'+$/, '');
      if (word.length < 2 || word.includes("''") || !/^[a-z]+(?:'[a-z]*)?$/.test(word)) continue;
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const byFrequency = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  const chosen = new Set(byFrequency.slice(0, MOST_FREQUENT).map(([word]) => word));
  for (const shape of CLASSES) {
    let taken = 0;
    for (const [word] of byFrequency) {
      if (taken === PER_CLASS) break;
      if (!shape.test(word)) continue;
      chosen.add(word);
      taken++;
    }
  }
  for (const word of CHOSEN.split(/\s+/)) if (word) chosen.add(word);
  return [...chosen].sort();
}

function stemWithSnowball(stemwords: string, words: readonly string[]): string[] {
  const run = spawnSync(stemwords, ['-l', 'english'], {
    input: `${words.join('\n')}\n`,
    encoding: 'utf8',
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`${stemwords} failed: ${run.stderr}`);
  const stems = run.stdout.split('\n').slice(0, -1);
  if (stems.length !== words.length) {
    throw new Error(`${stemwords} gave ${stems.length} stems for ${words.length} words`);
  }
  return stems;
}

async function main(): Promise<void> {
  const stemwords = process.argv[2];
  if (!stemwords) throw new Error('usage: stemmer-vocabulary.ts <path to stemwords>');
  const { corpus } = await loadScifact();
  const words = vocabulary(corpus.flatMap((d) => [d.title, d.text]));
  const stems = stemWithSnowball(stemwords, words);
  const header = [
    '# word<TAB>stem from Snowball 3.1.1 `stemwords -l english` (the C reference build).',
    '# Generated by apps/server/bench/stemmer-vocabulary.ts from the SciFact corpus; do not edit.',
  ];
  const lines = words.map((word, i) => `${word}\t${stems[i]}`);
  writeFileSync(OUTPUT, `${[...header, ...lines].join('\n')}\n`);
  process.stdout.write(`${words.length} words → ${OUTPUT}\n`);
}

await main();
