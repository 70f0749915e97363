/**
 * The Snowball English ("Porter2") stemmer, following the current `english.sbl` of the Snowball
 * project step by step, including its newer R1 prefixes (`past`, `univers`, `inter`, …) and the
 * `-ing`/`-eed` exceptions. Porter2 rather than the 1980 Porter algorithm because it conflates
 * fewer unrelated words (`generous`/`general`, `universe`/`university`) at the same recall.
 *
 * Input is one lowercase word. Only a–z, `y` and the apostrophe have a role; any other character
 * behaves as a consonant, so callers should stem only plain Latin-letter words.
 */
export function stemEnglish(word: string): string {
  if (word.length < 3) return word;
  const exceptional = WHOLE_WORD_EXCEPTIONS.get(word);
  if (exceptional !== undefined) return exceptional;

  let w = word.startsWith("'") ? word.slice(1) : word;
  // A `y` that acts as a consonant becomes `Y` so the vowel tests below skip it.
  const hasConsonantY = w.includes('y');
  if (hasConsonantY) w = markConsonantY(w);

  const { p1, p2 } = markRegions(w);
  w = step1a(w);
  w = step1b(w, p1);
  w = step1c(w);
  w = step2(w, p1, p2);
  w = step3(w, p1, p2);
  w = step4(w, p2);
  w = step5(w, p1, p2);
  return hasConsonantY ? w.replaceAll('Y', 'y') : w;
}

const WHOLE_WORD_EXCEPTIONS = new Map<string, string>([
  ['skis', 'ski'],
  ['skies', 'sky'],
  ['idly', 'idl'],
  ['gently', 'gentl'],
  ['ugly', 'ugli'],
  ['early', 'earli'],
  ['only', 'onli'],
  ['singly', 'singl'],
  ['sky', 'sky'],
  ['news', 'news'],
  ['howe', 'howe'],
  ['atlas', 'atlas'],
  ['cosmos', 'cosmos'],
  ['bias', 'bias'],
  ['andes', 'andes'],
]);

// Words starting with these get R1 right after them: keeps e.g. `general` apart from `generous`.
const R1_PREFIXES = [
  'gener',
  'commun',
  'arsen',
  'past',
  'univers',
  'later',
  'emerg',
  'organ',
  'inter',
];

function isVowel(c: string | undefined): boolean {
  return c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u' || c === 'y';
}

function hasVowel(s: string): boolean {
  for (const c of s) if (isVowel(c)) return true;
  return false;
}

function markConsonantY(w: string): string {
  let out = w[0] === 'y' ? 'Y' : w[0]!;
  for (let i = 1; i < w.length; i++) {
    const c = w[i]!;
    out += c === 'y' && isVowel(out[i - 1]) ? 'Y' : c;
  }
  return out;
}

/** Position just after the first non-vowel that follows a vowel, searching from `from`. */
function afterVowelConsonant(w: string, from: number): number | null {
  let i = from;
  while (i < w.length && !isVowel(w[i])) i++;
  if (i === w.length) return null;
  while (i < w.length && isVowel(w[i])) i++;
  return i === w.length ? null : i + 1;
}

function markRegions(w: string): { p1: number; p2: number } {
  const prefix = R1_PREFIXES.find((p) => w.startsWith(p));
  const p1 = prefix === undefined ? afterVowelConsonant(w, 0) : prefix.length;
  if (p1 === null) return { p1: w.length, p2: w.length };
  return { p1, p2: afterVowelConsonant(w, p1) ?? w.length };
}

/** The longest of `suffixes` that `w` ends with. */
function longestSuffix(w: string, suffixes: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const s of suffixes) {
    if (w.endsWith(s) && (best === undefined || s.length > best.length)) best = s;
  }
  return best;
}

/**
 * Whether `w` ends in a short syllable: consonant–vowel–consonant where the last is not w, x or
 * Y; or vowel–consonant making up the whole of `w`; or (Snowball's exception) `past`.
 */
function endsInShortSyllable(w: string): boolean {
  const n = w.length;
  const last = w[n - 1];
  if (n >= 3 && !isVowel(last) && last !== 'w' && last !== 'x' && last !== 'Y') {
    if (isVowel(w[n - 2]) && !isVowel(w[n - 3])) return true;
  }
  if (n === 2 && isVowel(w[0]) && !isVowel(w[1])) return true;
  return w.endsWith('past');
}

function step1a(input: string): string {
  let w = input;
  const apostrophe = longestSuffix(w, ["'", "'s", "'s'"]);
  if (apostrophe !== undefined) w = w.slice(0, -apostrophe.length);

  const suffix = longestSuffix(w, ['sses', 'ied', 'ies', 's', 'us', 'ss']);
  switch (suffix) {
    case 'sses':
      return w.slice(0, -2);
    case 'ied':
    case 'ies': {
      const stem = w.slice(0, -3);
      // ties → tie but cries → cri
      return stem.length >= 2 ? `${stem}i` : `${stem}ie`;
    }
    case 's': {
      const stem = w.slice(0, -1);
      // gaps → gap, but gas and this stay: the letter right before the s does not count.
      return stem.length >= 2 && hasVowel(stem.slice(0, -1)) ? stem : w;
    }
    default:
      return w;
  }
}

const STEP_1B_SUFFIXES = ['eed', 'eedly', 'ed', 'edly', 'ing', 'ingly'];
const EED_KEEPERS = new Set(['proc', 'exc', 'succ']);
const ING_KEEPERS = ['inn', 'out', 'cann', 'herr', 'earr', 'even'];
const DOUBLES = new Set(['bb', 'dd', 'ff', 'gg', 'mm', 'nn', 'pp', 'rr', 'tt']);

function step1b(w: string, p1: number): string {
  const suffix = longestSuffix(w, STEP_1B_SUFFIXES);
  if (suffix === undefined) return w;
  const stem = w.slice(0, -suffix.length);

  if (suffix === 'eed' || suffix === 'eedly') {
    // An -eed outside R1 is part of the stem (bleed), never an -ed ending.
    if (stem.length < p1 || EED_KEEPERS.has(stem)) return w;
    return `${stem}ee`;
  }
  if (suffix === 'ing') {
    const keeper = longestSuffix(stem, ['y', ...ING_KEEPERS]);
    if (keeper === 'y' && stem.length === 2 && !isVowel(stem[0])) return `${stem[0]}ie`;
    if (keeper !== undefined && keeper !== 'y' && stem === keeper) return w;
  }
  if (!hasVowel(stem)) return w;

  const end = stem.slice(-2);
  if (end === 'at' || end === 'bl' || end === 'iz') return `${stem}e`;
  if (DOUBLES.has(end)) {
    // add, egg, off: a double right after a leading a/e/o is the whole stem, not a doubling.
    const leadingVowelWord =
      stem.length === 3 && (stem[0] === 'a' || stem[0] === 'e' || stem[0] === 'o');
    return leadingVowelWord ? stem : stem.slice(0, -1);
  }
  // hoping → hope: a stem that is a single short syllable gets its e back.
  if (stem.length === p1 && endsInShortSyllable(stem)) return `${stem}e`;
  return stem;
}

function step1c(w: string): string {
  const n = w.length;
  const last = w[n - 1];
  if ((last === 'y' || last === 'Y') && n >= 3 && !isVowel(w[n - 2])) return `${w.slice(0, -1)}i`;
  return w;
}

/** Returns the replacement word, or null when the rule's extra condition does not hold. */
type Rule = (stem: string, p2: number) => string | null;
const to =
  (replacement: string): Rule =>
  (stem) =>
    stem + replacement;

const STEP_2_RULES = new Map<string, Rule>([
  ['tional', to('tion')],
  ['enci', to('ence')],
  ['anci', to('ance')],
  ['abli', to('able')],
  ['entli', to('ent')],
  ['izer', to('ize')],
  ['ization', to('ize')],
  ['ational', to('ate')],
  ['ation', to('ate')],
  ['ator', to('ate')],
  ['alism', to('al')],
  ['aliti', to('al')],
  ['alli', to('al')],
  ['fulness', to('ful')],
  ['ousli', to('ous')],
  ['ousness', to('ous')],
  ['iveness', to('ive')],
  ['iviti', to('ive')],
  ['biliti', to('ble')],
  ['bli', to('ble')],
  ['ogist', to('og')],
  ['ogi', (stem) => (stem.endsWith('l') ? `${stem}og` : null)],
  ['fulli', to('ful')],
  ['lessli', to('less')],
  ['li', (stem) => ('cdeghkmnrt'.includes(stem.at(-1) ?? '_') ? stem : null)],
]);
const STEP_2_SUFFIXES = [...STEP_2_RULES.keys()];

/** Replaces the longest listed suffix when it lies in the region; no fallback to a shorter one. */
function replaceSuffix(
  w: string,
  rules: ReadonlyMap<string, Rule>,
  suffixes: readonly string[],
  regionStart: number,
  p2: number,
): string {
  const suffix = longestSuffix(w, suffixes);
  if (suffix === undefined) return w;
  const stem = w.slice(0, -suffix.length);
  if (stem.length < regionStart) return w;
  return rules.get(suffix)!(stem, p2) ?? w;
}

function step2(w: string, p1: number, p2: number): string {
  return replaceSuffix(w, STEP_2_RULES, STEP_2_SUFFIXES, p1, p2);
}

const STEP_3_RULES = new Map<string, Rule>([
  ['tional', to('tion')],
  ['ational', to('ate')],
  ['alize', to('al')],
  ['icate', to('ic')],
  ['iciti', to('ic')],
  ['ical', to('ic')],
  ['ful', to('')],
  ['ness', to('')],
  ['ative', (stem, p2) => (stem.length >= p2 ? stem : null)],
]);
const STEP_3_SUFFIXES = [...STEP_3_RULES.keys()];

function step3(w: string, p1: number, p2: number): string {
  return replaceSuffix(w, STEP_3_RULES, STEP_3_SUFFIXES, p1, p2);
}

const STEP_4_DELETE = [
  'al',
  'ance',
  'ence',
  'er',
  'ic',
  'able',
  'ible',
  'ant',
  'ement',
  'ment',
  'ent',
  'ism',
  'ate',
  'iti',
  'ous',
  'ive',
  'ize',
];
const STEP_4_RULES = new Map<string, Rule>([
  ...STEP_4_DELETE.map((s): [string, Rule] => [s, to('')]),
  ['ion', (stem) => (stem.endsWith('s') || stem.endsWith('t') ? stem : null)],
]);
const STEP_4_SUFFIXES = [...STEP_4_RULES.keys()];

function step4(w: string, p2: number): string {
  return replaceSuffix(w, STEP_4_RULES, STEP_4_SUFFIXES, p2, p2);
}

function step5(w: string, p1: number, p2: number): string {
  const stem = w.slice(0, -1);
  if (w.endsWith('e')) {
    if (stem.length >= p2 || (stem.length >= p1 && !endsInShortSyllable(stem))) return stem;
  } else if (w.endsWith('l')) {
    if (stem.length >= p2 && stem.endsWith('l')) return stem;
  }
  return w;
}
