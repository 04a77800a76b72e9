declare module 'saslprep' {
  /** SASLprep (RFC 4013). Throws on prohibited / unassigned (unless allowed) characters and bidi violations. */
  function saslprep(input: string, opts?: { allowUnassigned?: boolean }): string;
  export = saslprep;
}
