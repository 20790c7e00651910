import { useApp } from '../store';

/** The place the live collaborative editor will take; its settings toggle already exists. */
export function EditorPlaceholder() {
  const enabled = useApp((app) => app.settings.editorEnabled);
  return (
    <section className="panel placeholder" data-testid="editor-placeholder">
      <h2>Shared editor</h2>
      <p>
        Live collaborative editing of workspace files arrives here next: files on the left, the editor in the middle,
        cursors and conflict tickets on the right.
      </p>
      <p className="muted">Editor preview is {enabled ? 'enabled' : 'disabled'} in Settings.</p>
    </section>
  );
}
