/**
 * Outbound content filter: every message body is checked before any provider
 * is called. Blocks threats, hate, harassment, explicit sexual content and
 * profanity, using the maintained `obscenity` word list (slurs, explicit and
 * profane words, with its leetspeak/look-alike handling) plus our own phrase
 * rules (`contentRules.ts`) for what a word list cannot see: threats and
 * harassment directed at the recipient, hateful statements, sexual
 * propositions.
 *
 * A verdict's `reason` names the rule, never the text: a message body may hold
 * personal data, and verdicts end up in logs and security events.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  DataSet,
  type EnglishProfaneWord,
  englishDataset,
  englishRecommendedTransformers,
  pattern,
  RegExpMatcher
} from "obscenity"
import {
  CATEGORY_PRIORITY,
  type ContentCategory,
  type ContentRule,
  OBSCENITY_CATEGORY,
  OBSCENITY_DROPPED,
  OBSCENITY_WHITELIST,
  OWN_RULES,
  REPEATED_INSULT
} from "./contentRules.ts"

export type { ContentCategory } from "./contentRules.ts"

export type ContentVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly category: ContentCategory; readonly reason: string }

/**
 * The message was refused by the content filter; nothing was sent.
 * (To move into schema/Errors.ts.)
 */
export class ContentBlocked extends Schema.TaggedError<ContentBlocked>()("ContentBlocked", {
  message: Schema.String,
  category: Schema.String
}) {
  readonly code = "content_blocked"
}

// ---------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------

/** Zero-width, bidi-control, joiner, variation-selector and tag characters. */
const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|\uDB40[\uDC00-\uDDEF]/g

/** Cyrillic and Greek letters that look like Latin ones (after lowercasing). */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  "а": "a",
  "е": "e",
  "ё": "e",
  "к": "k",
  "м": "m",
  "о": "o",
  "р": "p",
  "с": "c",
  "у": "y",
  "х": "x",
  "і": "i",
  "ї": "i",
  "ј": "j",
  "ѕ": "s",
  "ԁ": "d",
  "һ": "h",
  "ӏ": "l",
  "ԛ": "q",
  "ԝ": "w",
  "ɡ": "g",
  "α": "a",
  "β": "b",
  "ε": "e",
  "ι": "i",
  "κ": "k",
  "ν": "v",
  "ο": "o",
  "ρ": "p",
  "τ": "t",
  "υ": "u",
  "χ": "x"
}
const HOMOGLYPH_RE = new RegExp(`[${Object.keys(HOMOGLYPHS).join("")}]`, "g")

const LEET: Readonly<Record<string, string>> = {
  "0": "o",
  "1": "i",
  "3": "e",
  "4": "a",
  "5": "s",
  "7": "t",
  "@": "a",
  "$": "s",
  "!": "i"
}

const APOSTROPHES = /[\u2018\u2019\u02BC\u0060\u00B4\u2032\uFF07]/g

/**
 * Numbers and identifiers: pure numbers ("Room 455", "call 555-1234"),
 * digit-heavy tokens ("Galaxy A55") and upper-case codes ("ref FUK4Q2").
 * The word list's leetspeak decoding would read "455" as a profane word, so
 * these are masked before matching. Lower-case leetspeak ("k1ll", "5h1t") is
 * not masked.
 */
const isCodeLike = (token: string): boolean => {
  let digits = 0
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i)
    if (c >= 48 && c <= 57) digits++
  }
  if (digits === 0) return false
  const letters = token.length - digits
  if (letters === 0 || digits > letters) return true
  const upper = token === token.toUpperCase()
  return upper && (digits === letters || (token.length >= 6 && digits >= 2))
}

/** Runs of 3+ single letters separated by spaces/dots/dashes: "f u c k" → "fuck". */
const SPACED_LETTERS = /(?<![a-z0-9])[a-z](?:[ ._*~+-]{1,3}[a-z](?![a-z0-9])){2,}/g
/** Runs made only of these are left alone ("u r a …" is "you are a …"). */
const PRONOUN_LETTERS = /^[aeiouyr]+$/

const joinSpacedLetters = (s: string): string =>
  s.replace(SPACED_LETTERS, (run) => {
    const letters = run.replace(/[^a-z]/g, "")
    return PRONOUN_LETTERS.test(letters) ? run : letters
  })

const LOOKALIKE_L = /(?<=\p{Ll}[I|]{0,8})[I|]/gu

export interface Normalized {
  /** For the word list: NFKC, invisible characters stripped, codes masked, lowercase, spaced letters joined. */
  readonly base: string
  /** For our own rules: `base` with leetspeak decoded, long letter runs collapsed, only `[a-z0-9'.,!? ]` left. */
  readonly words: string
}

export const normalize = (text: string): Normalized => {
  let s = text.normalize("NFKC").replace(INVISIBLE, "")
  s = s.replace(/[\p{L}\p{N}]+/gu, (token) => (isCodeLike(token) ? "#" : token))
  // "kiII", "ki||": a capital I or a bar right after lowercase letters stands for "l".
  s = s.replace(LOOKALIKE_L, "l")
  s = s.toLowerCase().normalize("NFD").replace(/\p{M}+/gu, "")
  s = s.replace(HOMOGLYPH_RE, (c) => HOMOGLYPHS[c] ?? c).replace(APOSTROPHES, "'")
  s = s.replace(/\s+/g, " ").trim()
  const base = joinSpacedLetters(s)
  const words = base
    .replace(/[a-z0-9@$]+(?:!+[a-z0-9@$]+)*/g, (token) =>
      /[a-z]/.test(token) ? token.replace(/[0-9@$!]/g, (c) => LEET[c] ?? c) : token)
    .replace(/([a-z])\1{2,}/g, "$1")
    .replace(/[^a-z0-9'.,!?]+/g, " ")
    .trim()
  return { base, words }
}

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

const matchesRule = (rule: ContentRule, s: string): boolean => {
  const re = rule.pattern
  re.lastIndex = 0
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const rejected = (rule.unlessMatch !== undefined && rule.unlessMatch.test(m[0])) ||
      (rule.unlessBefore !== undefined && rule.unlessBefore.test(s.slice(Math.max(0, m.index - 40), m.index)))
    if (!rejected) {
      re.lastIndex = 0
      return true
    }
    // A later start inside a rejected match may still be a real hit.
    re.lastIndex = m.index + 1
  }
  return false
}

const countMatches = (re: RegExp, s: string): number => {
  re.lastIndex = 0
  let n = 0
  while (re.exec(s) !== null) n++
  return n
}

type Metadata = { readonly originalWord: EnglishProfaneWord }

const buildDataset = (): DataSet<Metadata> =>
  new DataSet<Metadata>()
    .addAll(englishDataset)
    .removePhrasesIf((phrase) =>
      phrase.metadata !== undefined &&
      (OBSCENITY_DROPPED.has(phrase.metadata.originalWord) || phrase.metadata.originalWord === "fuck")
    )
    // As the dataset's, minus its whole-word `fu` pattern ("Mr Fu", "Fu Manchu").
    .addPhrase((phrase) =>
      phrase
        .setMetadata({ originalWord: "fuck" })
        .addPattern(pattern`f[?]ck`)
        .addPattern(pattern`|fk`)
        .addPattern(pattern`|fuk`)
        .addWhitelistedTerm("fick")
        .addWhitelistedTerm("kung-fu")
        .addWhitelistedTerm("kung fu")
    )

const WORD_LIST_REASON: Readonly<Record<ContentCategory, string>> = {
  threat: "threatening term from a maintained word list",
  hate: "slur from a maintained word list",
  harassment: "abusive term from a maintained word list",
  sexual: "explicit sexual term from a maintained word list",
  profanity: "profanity from a maintained word list"
}

const ownRulesByCategory = new Map<ContentCategory, ReadonlyArray<ContentRule>>(
  CATEGORY_PRIORITY.map((category) => [category, OWN_RULES.filter((r) => r.category === category)])
)

const blocked = (category: ContentCategory, reason: string, id: string): ContentVerdict => ({
  allowed: false,
  category,
  reason: `${reason} (rule ${id})`
})

/**
 * Builds the pure classifier (compiles the word list once). Categories are
 * tried in priority order — threat, hate, harassment, sexual, profanity — and
 * the first hit is reported.
 */
export const makeClassifier = (): (text: string) => ContentVerdict => {
  const dataset = buildDataset()
  const built = dataset.build()
  const matcher = new RegExpMatcher({
    blacklistedTerms: built.blacklistedTerms,
    whitelistedTerms: [...(built.whitelistedTerms ?? []), ...OBSCENITY_WHITELIST],
    ...englishRecommendedTransformers
  })

  /** Highest-priority category among the word list's matches, if any. */
  const wordListCategories = (base: string): ReadonlySet<ContentCategory> => {
    const found = new Set<ContentCategory>()
    for (const match of matcher.getAllMatches(base)) {
      const word = dataset.getPayloadWithPhraseMetadata(match).phraseMetadata?.originalWord
      found.add(word === undefined ? "profanity" : OBSCENITY_CATEGORY[word])
    }
    return found
  }

  return (text: string): ContentVerdict => {
    const { base, words } = normalize(text)
    if (base.length === 0) return { allowed: true }
    let listed: ReadonlySet<ContentCategory> | undefined
    for (const category of CATEGORY_PRIORITY) {
      for (const rule of ownRulesByCategory.get(category) ?? []) {
        if (matchesRule(rule, words)) return blocked(category, rule.reason, rule.id)
      }
      if (
        category === "harassment" &&
        countMatches(REPEATED_INSULT.pattern, words) >= REPEATED_INSULT.threshold &&
        REPEATED_INSULT.addressee.test(words)
      ) {
        return blocked(category, REPEATED_INSULT.reason, REPEATED_INSULT.id)
      }
      listed ??= wordListCategories(base)
      if (listed.has(category)) return blocked(category, WORD_LIST_REASON[category], `wordlist.${category}`)
    }
    return { allowed: true }
  }
}

// ---------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------

export class ContentFilter extends Effect.Service<ContentFilter>()("app/policy/ContentFilter", {
  sync: () => {
    const classify = makeClassifier()

    /** Classifies an outbound body. Never fails; never echoes the text. */
    const check = Effect.fn("ContentFilter.check")(function*(text: string) {
      const verdict = classify(text)
      yield* Effect.annotateCurrentSpan("content.allowed", verdict.allowed)
      if (!verdict.allowed) yield* Effect.annotateCurrentSpan("content.category", verdict.category)
      return verdict
    })

    /** As `check`, failing with `ContentBlocked` when the body is refused. */
    const enforce = (text: string): Effect.Effect<void, ContentBlocked> =>
      Effect.flatMap(check(text), (verdict) =>
        verdict.allowed
          ? Effect.void
          : Effect.fail(
            new ContentBlocked({
              message: `Message refused by the content filter (${verdict.category}): ${verdict.reason}`,
              category: verdict.category
            })
          ))

    return { check, enforce } as const
  }
}) {}
