/** Room manager: owns the `meetings` table and meeting placement. */
export { createRoomsService, type RoomsServiceDeps } from './rooms.service.js';
export { RoomManager, type RoomManagerDeps } from './RoomManager.js';
export { MeetingStore, publicMeeting, type MeetingRecord } from './MeetingStore.js';
