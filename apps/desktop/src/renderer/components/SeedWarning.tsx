// What a seed phrase is, said wherever the words are shown: they are the identity itself.

export function SeedWarning() {
  return (
    <p className="warning" role="note" data-testid="seed-warning">
      <strong>These words are your identity.</strong> Anyone who has them controls it: they can sign in as you from any
      device, read your private channels and act in your name, and it cannot be taken back. Show them only where nobody
      can see your screen; never paste them into a chat, a website or a support request.
    </p>
  );
}
