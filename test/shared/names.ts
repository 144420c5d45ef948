/**
 * Effect-free test data of the property suites (both editions): the characters that mean
 * something to Redis keys, hash tags, percent-encoding or terminals.
 */

/** Characters that mean something to Redis keys, hash tags, percent-encoding or terminals. */
export const trickyCharacters: ReadonlyArray<string> = [
  "{",
  "}",
  "{}",
  "}{",
  ":",
  "*",
  "?",
  "[",
  "]",
  " ",
  "\n",
  "\r",
  "\t",
  "\u0000",
  "\u007f",
  "\u0085",
  "%",
  "%7B",
  "%7D",
  "%25",
  "%20",
  "/",
  "\\",
  "#",
  "\"",
  "'",
  "é",
  "\u00a0",
  "\u200b",
  "\u2028",
  "\u{1F600}",
  "\u{10FFFF}",
  "\u{E000}"
]

let prefixes = 0
/** A Redis key prefix no other test in this process uses. */
export const freshPrefix = (): string => `t${process.pid}-${++prefixes}-${Date.now().toString(36)}`
