// Node 20 refuses --cpu-prof in NODE_OPTIONS, but --import is allowed: this preload runs the same
// V8 sampling profiler through the inspector and writes a .cpuprofile when the process exits.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.CPU_PROFILE_DIR ?? ".";
const session = new Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.setSamplingInterval", { interval: 1000 });
session.post("Profiler.start");
process.on("exit", () => {
  // A main-thread session answers synchronously, so this completes inside the exit handler.
  session.post("Profiler.stop", (err, result) => {
    if (err) return;
    writeFileSync(path.join(dir, `web-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
