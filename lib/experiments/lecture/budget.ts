// The lecture's training budgets per profile: steps, sizes and counts of its toy, ear and
// segmenter runs, and what they were measured to cost.
import type { ToyKind } from "../../data/phantoms/toy.js";
import type { Profile } from "../../methods/config.js";

// ---------------------------------------------------------------------------------------------
// Budgets per profile

/** What each profile trains: method overrides per stage, and how many subjects are used. */
export interface LectureBudget {
  /** CycleGAN options for each toy pair (over the profile's defaults). */
  toy: Record<string, unknown>;
  /** The toy pairs, in lecture order. */
  toys: readonly ToyKind[];
  /** Test images per toy shown in the grid. */
  toyShow: number;
  /** CycleGAN options for both ear runs (lambdaShape is set per run). */
  ear: Record<string, unknown>;
  /** Shape-consistency weight of the second ear run. */
  lambdaShape: number;
  /** Segmenter options (the segmenters on translations and the Oracle alike). */
  segmenter: Record<string, unknown>;
  /** Source training volumes translated (null: all). */
  sourceSubjects: number | null;
  /** Translated volumes whose anatomy the Oracle checks, per translator (null: all translated). */
  anatomySubjects: number | null;
  /** Labelled T2 test volumes scored (null: all). */
  testSubjects: number | null;
  /** Source subjects in the ear grid. */
  earShow: number;
}

/**
 * The budgets. Every profile trains 2D networks on 64x64 images (the toy images whole, the ear
 * volumes slice by slice), so the ear volumes are translated and segmented one slice per tile.
 * quick, measured on the 2-core build machine: with the torch engine (one thread per figures
 * job) ~0.12 s per ear CycleGAN step (ngf 8, 3 blocks) and ~0.04 s per segmenter step, so the ear
 * CycleGANs train 800 steps and the segmenters 800 (wasm took ~0.18 s and ~0.13 s, which held the
 * earlier quick profile to 600 each). Shorter runs failed on the ear phantom: with 250 CycleGAN
 * steps the Oracle found almost none of the source anatomy in the translations (mean Dice 0.03,
 * 0.22 at 600 steps), and a segmenter trained 400 steps reached mean Dice 0.58 on real T2 (0.77 at
 * 600). Longer is better but slower: 3000 CycleGAN steps keep anatomy at Dice 0.43 (see
 * scripts/ear-cyclegan-budget.ts).
 */
export function lectureBudget(profile: Profile): LectureBudget {
  const toys = ["colour", "texture", "geometry"] as const;
  const slices = { patch: [64, 64] };
  switch (profile) {
    case "smoke":
      return {
        toy: {},
        toys,
        toyShow: 1,
        ear: { ...slices },
        lambdaShape: 1,
        segmenter: { ...slices },
        sourceSubjects: 6,
        anatomySubjects: null,
        testSubjects: 4,
        earShow: 2,
      };
    case "quick":
      return {
        toy: { ngf: 8, ndf: 16, blocks: 3, constantSteps: 120, decaySteps: 120 },
        toys,
        toyShow: 2,
        ear: { ...slices, ngf: 8, ndf: 16, blocks: 3, constantSteps: 400, decaySteps: 400 },
        lambdaShape: 1,
        // The quick segmenter's own size (base 16, depth 4), 600 steps (see above).
        segmenter: { ...slices, constantSteps: 400, decaySteps: 400 },
        sourceSubjects: null,
        anatomySubjects: 30,
        testSubjects: null,
        earShow: 3,
      };
    case "paper":
      return {
        toy: { ...slices },
        toys,
        toyShow: 3,
        ear: { ...slices },
        lambdaShape: 1,
        segmenter: { ...slices },
        sourceSubjects: null,
        anatomySubjects: null,
        testSubjects: null,
        earShow: 4,
      };
  }
}
