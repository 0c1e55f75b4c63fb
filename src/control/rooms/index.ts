/** Room manager: owns the `meetings` and `meeting_nodes` tables, placement of meetings and of participants over a meeting's nodes, and the relay commands to those nodes. */
export { createRoomsService, type RoomsServiceDeps } from './rooms.service.js';
export { RoomManager, type RoomManagerDeps } from './RoomManager.js';
export { MeetingStore, publicMeeting, type MeetingRecord, type MeetingNodeRecord } from './MeetingStore.js';
export type { CascadeSettings } from './MeetingNodes.js';
