declare module '@xmpp/client';
declare module '@xmpp/xml' {
  export type Element = any;
}
