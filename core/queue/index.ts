/** The queues: the only modules that create BullMQ queues or touch their jobs (see queueImports.unit.test.ts). */
export * from "./MaintenanceQueue";
export * from "./SyncQueue";
