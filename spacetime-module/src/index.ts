// Module entry: the schema as default export, then every reducer and view under its export name
// (which is the name clients call). Only spacetime exports may appear here: the runtime refuses
// any other named export.
import spacetimedb from './schema';

export default spacetimedb;
export { init, configure_world, add_world_admin, remove_world_admin } from './admin';
export {
  join_world,
  heartbeat,
  leave_world,
  client_connected,
  client_disconnected,
  expire_presence,
  request_peer_link,
  accept_peer_link,
  close_peer_link,
} from './presence';
export { create_workspace, invite_member, remove_member, leave_workspace } from './workspaces';
export {
  open_channel,
  join_channel,
  add_channel_participant,
  leave_channel,
  close_channel,
  publish_message,
  ack_message,
} from './comms';
export {
  advertise_capabilities,
  withdraw_capabilities,
  request_compute,
  cancel_compute,
  accept_compute,
  reject_compute,
  complete_compute,
} from './compute';
export { enqueue_nostr_bridge_event, mark_bridge_event_published, mark_bridge_event_failed } from './bridge';
export { revoke_sessions, my_session_status } from './revocation';
export { apply_file_ops, resolve_conflict, checkpoint_file, run_checkpoint_job, publish_presence } from './files';
export {
  world_settings,
  my_sessions,
  my_peer_links,
  public_channels,
  my_channels,
  my_channel_participants,
  my_messages,
  my_checkpoints,
  my_compute_requests,
  compute_inbox,
  my_compute_assignments,
  bridge_pending,
  my_bridge_events,
  my_files,
  my_file_ops,
  my_file_snapshots,
  my_conflict_tickets,
} from './views';
