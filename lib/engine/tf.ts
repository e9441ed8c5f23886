// The one TensorFlow.js entry point of the kit: every module imports `tf` from here, so the
// whole library shares one engine (one kernel registry, one tape) whatever backend runs it.
// tfjs-core's Node build registers no gradients; the @tensorflow/tfjs bundle does (into the
// registry every copy shares), which is why it is imported here for that side effect.
import "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs-core";

// The union bundle also registers the WebGL backend, which cannot start in Node; drop it so
// tfjs never tries it (and prints nothing about it).
if (tf.findBackendFactory("webgl")) tf.removeBackend("webgl");

export { tf };
export type { Tensor, TensorInfo, Rank, DataType } from "@tensorflow/tfjs-core";
