import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "fast-check"
import {
  ContentBlocked,
  type ContentCategory,
  ContentFilter,
  type ContentVerdict,
  makeWordList,
  normalize
} from "../../src/policy/ContentFilter.ts"
import { OWN_RULES, REPEATED_INSULT } from "../../src/policy/contentRules.ts"

const ZW = "\u200B"

/** [message, expected category] — each must be refused. */
const BLOCKED: ReadonlyArray<readonly [string, ContentCategory]> = [
  // threats
  ["I will kill you", "threat"],
  ["I'm going to k1ll y0u", "threat"],
  ["k1ll y0u", "threat"],
  [`I will ki${ZW}ll y${ZW}ou`, "threat"],
  ["I wiII kiII you", "threat"],
  ["I'll find you and kill you and your family", "threat"],
  ["We're going to hurt your kids", "threat"],
  ["Someone is going to murder you tonight", "threat"],
  ["I will shoot you in the head", "threat"],
  ["imma burn your house down", "threat"],
  ["I'll beat you to a pulp", "threat"],
  ["You're dead.", "threat"],
  ["ur dead meat", "threat"],
  ["YOU ARE DEAD", "threat"],
  ["You will die", "threat"],
  ["I know where you live.", "threat"],
  ["We know where your kids go to school", "threat"],
  ["I'm going to shoot up the school tomorrow", "threat"],
  ["There's a bomb in your office", "threat"],
  ["I have planted a bomb", "threat"],
  ["You'd better watch your back", "threat"],
  ["I'm watching you", "threat"],
  ["Yooouuu are deaaaad", "threat"],
  // hate
  ["All immigrants are vermin", "hate"],
  ["jews are parasites", "hate"],
  ["gas the jews", "hate"],
  ["Heil Hitler", "hate"],
  ["Go back where you came from", "hate"],
  ["you f4gg0t", "hate"],
  ["shut up you r3tard", "hate"],
  ["ch1nk", "hate"],
  // harassment
  ["kill yourself", "harassment"],
  ["kys", "harassment"],
  ["k.y.s", "harassment"],
  ["K Y S", "harassment"],
  ["You are a worthless piece of garbage", "harassment"],
  ["you stupid idiot", "harassment"],
  ["u r a loser", "harassment"],
  ["Nobody loves you", "harassment"],
  ["I hope you die", "harassment"],
  ["Go to hell", "harassment"],
  ["STFU", "harassment"],
  ["Moron. Idiot. That's what you are.", "harassment"],
  ["I hate you", "harassment"],
  // sexual
  ["send nudes", "sexual"],
  ["Send me naked pics", "sexual"],
  ["I want to have sex with you", "sexual"],
  ["let's have sex tonight", "sexual"],
  ["I'm so horny", "sexual"],
  ["b l o w j o b", "sexual"],
  ["free p0rn here", "sexual"],
  ["nice tits", "sexual"],
  ["I want to lick your pussy", "sexual"],
  ["suck my dick", "sexual"],
  // profanity
  ["f u c k", "profanity"],
  ["f.u.c.k", "profanity"],
  ["fuuuuck this", "profanity"],
  ["this is sh1t", "profanity"],
  ["what the f*ck", "profanity"],
  ["b!tch please", "profanity"],
  [`fu${ZW}ck`, "profanity"],
  ["ｆｕｃｋ", "profanity"],
  ["fu\u0441k off", "profanity"], // Cyrillic с
  ["FÜCK", "profanity"],
  ["what a pIece of shIt", "profanity"],
  ["you absolute asshole", "harassment"]
]

/** Ordinary business and customer-service messages — each must pass. */
const ALLOWED: ReadonlyArray<string> = [
  "Your appointment is confirmed for Tuesday at 3pm.",
  "We will kill the bug in the next release.",
  "Scunthorpe United tickets are on sale now.",
  "Your assessment results are ready.",
  "Join us for cocktail hour at 6.",
  "Our Sussex office is closed on Monday.",
  "Our Essex and Middlesex branches are open late.",
  "The shooting schedule for the film has moved to Friday.",
  "You will look drop dead gorgeous in the new collection!",
  "Hi Sam, your order #4455 has shipped.",
  "Call us on 555-1234, or come to room 455.",
  "The Samsung Galaxy A55 is back in stock.",
  "Your booking reference is FUK4Q2.",
  "What doesn't kill you makes you stronger!",
  "I'll shoot you an email with the details.",
  "We'll shoot you a text when the car is ready.",
  "We'll beat your current rate by 10%.",
  "Let us cut you a better deal.",
  "Please replace your dead battery before Friday.",
  "Your dead-letter queue has 3 messages.",
  "You may feel a small prick during the blood draw.",
  "All curtains use flame retardant fabric.",
  "Your semen analysis results are ready; please call the clinic.",
  "Please indicate your sex on the intake form.",
  "No need to kill yourself over the deadline, take your time.",
  "Be careful not to shoot yourself in the foot with that contract.",
  "Once you go back to your country, your visa stays valid for 90 days.",
  "We hate to see you go!",
  "We'd hate for you to miss out on this offer.",
  "Thank you so much for your patience.",
  "Our analysts will review the analysis by 5pm.",
  "Add cumin and shiitake mushrooms to the pan.",
  "The cockpit simulator is booked for 2pm.",
  "Magna cum laude graduates get 10% off.",
  "Mr. Fu will call you tomorrow morning.",
  "Pasta e fagioli is today's special.",
  "We are watching your order closely and will update you.",
  "Your ABO blood type test is scheduled.",
  "We're following up on your request.",
  "Book both services today and kill two birds with one stone.",
  "Press the kill switch to stop the machine.",
  "Our team will blow up the balloons before the party.",
  "The photographer will shoot your wedding on Saturday.",
  "We'd love to shoot your family portraits!",
  "Pest control will spray the house on Monday.",
  "Reminder: rapeseed oil delivery on Friday.",
  "Your Hooker Furniture order is confirmed.",
  "Assorted chocolates are 20% off this week.",
  "Tit for tat pricing is not our style.",
  "We'll get you sorted in no time.",
  "Nobody loves you more than your dog does, treat them today.",
  "Are you a loser at poker? Join our weekly classes.",
  "Don't feel stupid about asking questions, we're here to help.",
  "The heat will kill you if you skip water, so stay hydrated.",
  "Your Hancock Street branch is open until 8.",
  "Join our Dickens Christmas tour.",
  "Welcome to Cumbria!",
  "Tu pedido del vestido negro ha sido enviado.",
  "您的预约已确认。",
  "Ваш заказ отправлен.",
  "Happy birthday! 🎉🎂",
  "Please bring your passport and the signed assessment form.",
  "We'll beat any competitor's price.",
  "This deal is killer, don't miss it!",
  "We will end your subscription at the end of the month.",
  "Your Honda's transmission service is due.",
  "The class action lawsuit update is attached.",
  "Our therapist will see you at 10.",
  "Document 2 of 3 is ready to sign.",
  "You're dead on: the invoice was wrong, we've fixed it.",
  "Tickets for Die Hard at the cinema are booked.",
  "If you feel like you're a failure at budgeting, our app can help.",
  "I'm watching your listing for price drops.",
  "Our rape crisis helpline is open 24/7.",
  "Dick Smith will handle your account from now on.",
  "We'll kill you with kindness at our grand opening!",
  "Your assistant's assessment of the assets is attached.",
  "Please don't hurt yourself lifting the boxes; our team can help.",
  "You can't go wrong: idiot-proof setup in five minutes."
]

describe("normalize", () => {
  it("decodes obfuscation for our own rules", () => {
    expect(normalize("K1LL   Y0U!!").words).toBe("kill you!!")
    expect(normalize(`k${ZW}i\u200Dl\uFEFFl`).words).toBe("kill")
    expect(normalize("f u c k off").base).toBe("fuck off")
    expect(normalize("u r a star").base).toBe("u r a star")
    expect(normalize("Yóu’re").words).toBe("you're")
  })

  it("masks numbers and codes so leetspeak never reads them as words", () => {
    expect(normalize("Room 455, ref FUK4Q2").base).toBe("room #, ref #")
  })
})

layer(ContentFilter.Default)("ContentFilter", (it) => {
  it.effect.each(BLOCKED)("blocks %j", ([text, category]) =>
    Effect.gen(function*() {
      const filter = yield* ContentFilter
      const verdict = yield* filter.check(text)
      expect(verdict).toMatchObject({ allowed: false, category })
      if (!verdict.allowed) {
        expect(verdict.reason.toLowerCase()).not.toContain(text.toLowerCase())
        expect(verdict.reason.length).toBeGreaterThan(0)
      }
    }))

  it.effect.each(ALLOWED)("allows %j", (text) =>
    Effect.gen(function*() {
      const filter = yield* ContentFilter
      expect(yield* filter.check(text)).toEqual({ allowed: true })
    }))

  it.effect("allows empty and whitespace-only bodies", () =>
    Effect.gen(function*() {
      const filter = yield* ContentFilter
      expect(yield* filter.check("")).toEqual({ allowed: true })
      expect(yield* filter.check(` \n\t${ZW} `)).toEqual({ allowed: true })
    }))

  it.effect("enforce fails with content_blocked and passes clean text", () =>
    Effect.gen(function*() {
      const filter = yield* ContentFilter
      yield* filter.enforce("Your appointment is confirmed.")
      const exit = yield* Effect.exit(filter.enforce("I know where you live"))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(filter.enforce("I know where you live"))
      expect(error).toBeInstanceOf(ContentBlocked)
      expect(error.code).toBe("content_blocked")
      expect(error.category).toBe("threat")
      expect(error.message).not.toContain("where you live")
    }))

  it.effect("reports the highest-priority category", () =>
    Effect.gen(function*() {
      const filter = yield* ContentFilter
      // profanity + threat → threat
      expect(yield* filter.check("f*ck you, I will kill you")).toMatchObject({ category: "threat" })
      // profanity + harassment → harassment
      expect(yield* filter.check("shit, kill yourself")).toMatchObject({ category: "harassment" })
    }))

  it.effect("rule reasons are themselves clean text", () =>
    Effect.gen(function*() {
      const filter = yield* ContentFilter
      const reasons = [...OWN_RULES.map((r) => `${r.reason} (rule ${r.id})`), REPEATED_INSULT.reason]
      for (const reason of reasons) expect(yield* filter.check(reason)).toEqual({ allowed: true })
    }))
})

describe("ContentFilter properties", () => {
  const filter = Effect.runSync(Effect.provide(ContentFilter, ContentFilter.Default))
  const check = (text: string): ContentVerdict => Effect.runSync(filter.check(text))

  const isVerdict = (v: ContentVerdict): boolean =>
    v.allowed === true || (typeof v.reason === "string" && v.reason.length > 0 && typeof v.category === "string")

  const reasonDoesNotEcho = (text: string, v: ContentVerdict): boolean =>
    v.allowed || text.trim().length <= 3 || !v.reason.toLowerCase().includes(text.toLowerCase())

  /** Text built from trigger words and filler, to reach blocked verdicts often. */
  const vocabulary = fc.constantFrom(
    "i", "will", "kill", "k1ll", "you", "y0u", "your", "family", "dead", "you're", "know", "where", "live",
    "kys", "idiot", "moron", "fuck", "f u c k", "shit", "send", "nudes", "sex", "with", "me", "are", "vermin",
    "immigrants", "the", "bug", "appointment", "confirmed", "rule", "threat", "harassment", "sexual", "hate",
    "profanity", "maintained", "word", "list", "recipient", ".", ",", "!", ZW, "I", "4", "455", "a55"
  )
  const vocabText = fc.array(vocabulary, { maxLength: 40 }).map((ws) => ws.join(" "))

  it("never throws and always returns a verdict (arbitrary strings)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (text) => {
        const v = check(text)
        return isVerdict(v) && reasonDoesNotEcho(text, v)
      }),
      { numRuns: 300 }
    )
  })

  it("never throws and always returns a verdict (full unicode)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 2000 }), (text) => {
        const v = check(text)
        return isVerdict(v) && reasonDoesNotEcho(text, v)
      }),
      { numRuns: 300 }
    )
  })

  it("the word list pre-check agrees with the library matcher run on the whole text", () => {
    const wordList = makeWordList()
    const pieces = fc.constantFrom(
      "assessment", "assistant", "ass", "a$$", "a55", "455", "cum laude", "cumin", "cum", "shiitake", "sh1t",
      "title", "tits", "pen is", "kung fu", "fu", "f*ck", "fuuuck", "sussex", "cocktail", "cockpit", "dickens",
      "document", "tit for tat", "rapeseed", "grapes", "n1gga", "night", "chink in the armor", "retardant",
      "finger prick", "double penetration test", "|", "1", "!", "@", "$", " ", ".", "-", "ʃuck", "ｆｕｃｋ", "ss", "bbb"
    )
    const text = fc.oneof(
      fc.tuple(fc.array(pieces, { maxLength: 30 }), fc.constantFrom("", " ")).map(([ps, sep]) => ps.join(sep)),
      fc.string({ maxLength: 300 }),
      fc.string({ unit: fc.constantFrom(..."asfuckhitnlbo1!@$|4 5.-"), maxLength: 80 })
    )
    fc.assert(
      fc.property(text, (t) => {
        const { base } = normalize(t)
        expect([...wordList.categories(base)].sort()).toEqual([...wordList.categoriesFull(base)].sort())
      }),
      { numRuns: 2000 }
    )
  })

  it("never echoes the input in a blocked verdict's reason", () => {
    let blocked = 0
    fc.assert(
      fc.property(vocabText, (text) => {
        const v = check(text)
        if (!v.allowed) blocked++
        return isVerdict(v) && reasonDoesNotEcho(text, v)
      }),
      { numRuns: 1000 }
    )
    // The vocabulary is rich enough that the property is not vacuous.
    expect(blocked).toBeGreaterThan(100)
  })
})
