// The methods behind one trainer interface, and the factory that builds one from its config.
import { UnpairedError } from "../util/errors.js";
import type { CutConfig, CycleGanConfig, IntraStylerConfig, MethodConfig, SegmenterConfig, SiteConfig, SynDiffConfig } from "./config.js";
import { CutTrainer } from "./cut.js";
import { CycleGanTrainer } from "./cyclegan.js";
import { IntraStylerTrainer } from "./intrastyler.js";
import { MultiNetsTrainer } from "./multinets.js";
import { SegmenterTrainer } from "./segmenter.js";
import { SynDiffTrainer } from "./syndiff.js";
import type { Trainer } from "./trainer.js";
import { UnifiedTrainer } from "./unified.js";

export * from "./config.js";
export * from "./trainer.js";
export { CycleGanTrainer } from "./cyclegan.js";
export { CutTrainer } from "./cut.js";
export { IntraStylerTrainer } from "./intrastyler.js";
export { UnifiedTrainer } from "./unified.js";
export { MultiNetsTrainer } from "./multinets.js";
export { SegmenterTrainer } from "./segmenter.js";
export { SynDiffTrainer, emaUpdate } from "./syndiff.js";
export * from "./diffusionSchedule.js";
export { ImagePool, type ImagePoolState, type StoredImages } from "./imagePool.js";

/** Builds the trainer of a resolved configuration. */
export function createTrainer(cfg: MethodConfig): Trainer {
  switch (cfg.method) {
    case "cyclegan":
      return new CycleGanTrainer(cfg as CycleGanConfig);
    case "cut":
    case "fastcut":
    case "nodiverse":
      return new CutTrainer(cfg as CutConfig);
    case "intrastyler":
      return new IntraStylerTrainer(cfg as IntraStylerConfig);
    case "unified":
      return new UnifiedTrainer(cfg as SiteConfig);
    case "multinets":
      return new MultiNetsTrainer(cfg as SiteConfig);
    case "segmenter":
      return new SegmenterTrainer(cfg as SegmenterConfig);
    case "syndiff":
      return new SynDiffTrainer(cfg as SynDiffConfig);
    default:
      throw new UnpairedError("BAD_CONFIG", `unknown method "${(cfg as { method: string }).method}"`);
  }
}
