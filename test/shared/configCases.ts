/**
 * Effect-free test data of the config decoding suites (both editions): invalid configs and
 * service names with the message each must be rejected with.
 */

/** `[title, input, a substring of the message]`: a config `CircuitConfig.decodeEither("svc", input)` refuses. */
export const configCases: ReadonlyArray<[string, unknown, string]> = [
  [
    "negative threshold",
    { failureThreshold: -1 },
    "failureThreshold must be a positive integer at most 1000000000 (got -1)"
  ],
  [
    "zero threshold",
    { successThreshold: 0 },
    "successThreshold must be a positive integer at most 1000000000 (got 0)"
  ],
  [
    "non-integer threshold",
    { failureThreshold: 2.5 },
    "failureThreshold must be a positive integer at most 1000000000 (got 2.5)"
  ],
  ["threshold as a string", { failureThreshold: "5" }, "failureThreshold must be a number (got \"5\")"],
  [
    "NaN threshold",
    { halfOpenMaxProbes: Number.NaN },
    "halfOpenMaxProbes must be a positive integer at most 1000000000 (got NaN)"
  ],
  ["jitter above 1", { backoffJitter: 1.5 }, "backoffJitter must be between 0 and 1 (got 1.5)"],
  ["jitter below 0", { backoffJitter: -0.1 }, "backoffJitter must be between 0 and 1 (got -0.1)"],
  ["multiplier below 1", { backoffMultiplier: 0.5 }, "backoffMultiplier must be between 1 and 1000 (got 0.5)"],
  [
    "maxRecoveryTimeout < recoveryTimeout",
    { recoveryTimeout: 60_000, maxRecoveryTimeout: 10_000 },
    "maxRecoveryTimeout must be at least recoveryTimeout (got 10000 ms < 60000 ms)"
  ],
  [
    "stateTtl <= maxRecoveryTimeout",
    { maxRecoveryTimeout: 600_000, stateTtl: 600_000 },
    "stateTtl must exceed maxRecoveryTimeout × (1 + backoffJitter) + probeLease (got 600000 ms <= 670000 ms)"
  ],
  [
    "stateTtl shorter than the longest jittered open period and a lease",
    { maxRecoveryTimeout: 100_000, backoffJitter: 0.5, probeLease: 5_000, stateTtl: 150_000 },
    "stateTtl must exceed maxRecoveryTimeout × (1 + backoffJitter) + probeLease (got 150000 ms <= 155000 ms)"
  ],
  ["unknown field", { failureTreshold: 3 }, "failureTreshold is not a known field"],
  ["negative duration", { recoveryTimeout: -5 }, "recoveryTimeout must not be negative (got -5)"],
  ["zero duration", { probeLease: 0 }, "probeLease must be greater than zero (got 0)"],
  ["infinite duration", { storeTimeout: Infinity }, "storeTimeout must be a duration"],
  ["unparsable duration", { recoveryTimeout: "soon" }, "recoveryTimeout must be a duration"],
  [
    "rate above 1",
    { failureRateThreshold: 50 },
    "failureRateThreshold must be a fraction greater than 0 and at most 1 (got 50)"
  ],
  [
    "bad policy",
    { onStoreUnavailable: "ignore" },
    "onStoreUnavailable must be one of \"local\", \"fail-open\", \"fail-closed\" (got \"ignore\")"
  ],
  ["isFailure not a function", { isFailure: true }, "isFailure must be a function (got true)"],
  ["config not an object", 42, "configuration must be an object (got 42)"],
  ["empty serviceName", { serviceName: "" }, "serviceName must not be empty"],
  // bounds: beyond them Lua and Redis would see exponent notation or inexact integers
  [
    "stateTtl 1e17",
    { stateTtl: 1e17 },
    "stateTtl must be at most 315360000000 ms (10 years) (got 100000000000000000)"
  ],
  [
    "metricsTtl 1e17",
    { metricsTtl: 1e17 },
    "metricsTtl must be at most 315360000000 ms (10 years) (got 100000000000000000)"
  ],
  [
    "stateCacheTtl 11 years",
    { stateCacheTtl: "4000 days" },
    "stateCacheTtl must be at most 315360000000 ms (10 years)"
  ],
  [
    "a huge threshold",
    { failureThreshold: 2 ** 53 },
    "failureThreshold must be a positive integer at most 1000000000 (got 9007199254740992)"
  ],
  ["a huge multiplier", { backoffMultiplier: 1e6 }, "backoffMultiplier must be between 1 and 1000 (got 1000000)"]
]

/** `[title, name, a substring of the message]`: a service name refused. */
export const nameCases: ReadonlyArray<[string, string, string]> = [
  ["empty", "", "service name must not be empty"],
  ["blank", "   ", "service name must not be blank"],
  ["too long", "x".repeat(257), "service name must be at most 256 characters (got 257)"],
  ["a newline", "pay\nments", "service name must not contain control characters"],
  ["a NUL", "pay\u0000ments", "service name must not contain control characters"],
  ["a DEL", "pay\u007fments", "service name must not contain control characters"],
  ["only a dot", ".", "service name must not be \".\" (a URL path cannot name it)"],
  ["only two dots", "..", "service name must not be \"..\" (a URL path cannot name it)"],
  [
    "a bidi override",
    "pay\u202Estnemy",
    "service name must not contain invisible or bidirectional formatting characters (U+202E at index 3)"
  ],
  [
    "a bidi isolate",
    "\u2067pay",
    "service name must not contain invisible or bidirectional formatting characters (U+2067 at index 0)"
  ],
  [
    "a zero-width space",
    "pay\u200Bments",
    "service name must not contain invisible or bidirectional formatting characters (U+200B at index 3)"
  ],
  ["a zero-width joiner", "pay\u200Dments", "(U+200D at index 3)"],
  ["a byte order mark", "\uFEFFpayments", "(U+FEFF at index 0)"],
  ["a soft hyphen", "pay\u00ADments", "(U+00AD at index 3)"]
]

/** Service names accepted. */
export const acceptedNames: ReadonlyArray<string> = [
  "x".repeat(256),
  "paiements ✓",
  "{tag}:a*b",
  "api v2",
  "...",
  ".a",
  "a..b",
  "עברית",
  "مدفوعات"
]

/** A config with several bad fields and an unknown one, and every issue, in the order reported. */
export const allAtOnce: { readonly input: unknown; readonly issues: ReadonlyArray<string> } = {
  input: { failureThreshold: 0, backoffJitter: 2, nope: 1, recoveryTimeout: "x" },
  issues: [
    "nope is not a known field",
    "failureThreshold must be a positive integer at most 1000000000 (got 0)",
    "recoveryTimeout must be a duration: milliseconds or a Duration such as \"30 seconds\" (got \"x\")",
    "backoffJitter must be between 0 and 1 (got 2)"
  ]
}
