// The CycleGAN ResNet generator as plain tfjs functions, for the engine benchmark only: the
// same layer layout as bench/peers/engine_step.py builds in PyTorch (reflection pad, 7^d conv,
// two stride-2 convs, residual blocks, two transposed convs, instance norm, ReLU, tanh), in 2D
// or 3D through `dims`. The kit's trainable models live in lib/models.
import { tf } from "../../lib/engine/index.js";
import type { Tensor } from "../../lib/engine/index.js";

export interface GeneratorSpec {
  dims: 2 | 3;
  inChannels: number;
  outChannels: number;
  ngf: number;
  blocks: number;
}

type Conv = { w: tf.Variable; b: tf.Variable };

function convParams(dims: 2 | 3, k: number, cin: number, cout: number, transposed: boolean, rng: () => number): Conv {
  const kShape = Array(dims).fill(k) as number[];
  // Regular filters are [k.., in, out]; transposed ones are [k.., out, in] as tfjs expects.
  const shape = transposed ? [...kShape, cout, cin] : [...kShape, cin, cout];
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = 0.02 * rng();
  return { w: tf.variable(tf.tensor(data, shape)), b: tf.variable(tf.zeros([cout])) };
}

/** Standard normal numbers from a seeded generator (Box-Muller on a 32-bit LCG). */
export function normalRng(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export class BenchGenerator {
  readonly spec: GeneratorSpec;
  private readonly layers: Record<string, Conv> = {};

  constructor(spec: GeneratorSpec, seed = 1) {
    this.spec = spec;
    const rng = normalRng(seed);
    const { dims, ngf, inChannels, outChannels } = spec;
    this.layers["c7in"] = convParams(dims, 7, inChannels, ngf, false, rng);
    this.layers["down1"] = convParams(dims, 3, ngf, ngf * 2, false, rng);
    this.layers["down2"] = convParams(dims, 3, ngf * 2, ngf * 4, false, rng);
    for (let i = 0; i < spec.blocks; i++) {
      this.layers[`res${i}a`] = convParams(dims, 3, ngf * 4, ngf * 4, false, rng);
      this.layers[`res${i}b`] = convParams(dims, 3, ngf * 4, ngf * 4, false, rng);
    }
    this.layers["up1"] = convParams(dims, 3, ngf * 4, ngf * 2, true, rng);
    this.layers["up2"] = convParams(dims, 3, ngf * 2, ngf, true, rng);
    this.layers["c7out"] = convParams(dims, 7, ngf, outChannels, false, rng);
  }

  variables(): tf.Variable[] {
    return Object.values(this.layers).flatMap((l) => [l.w, l.b]);
  }

  private conv(x: Tensor, name: string, stride: number, pad: number): Tensor {
    const { w, b } = this.layers[name]!;
    const y =
      this.spec.dims === 2
        ? tf.conv2d(x as tf.Tensor4D, w as unknown as tf.Tensor4D, stride, pad)
        : tf.conv3d(x as tf.Tensor5D, w as unknown as tf.Tensor5D, stride, "valid");
    return tf.add(y, b);
  }

  /** PyTorch ConvTranspose(k3, s2, p1, output_padding 1): a 'valid' transposed convolution
   * (size 2n+1) with its first row/column dropped, giving 2n. */
  private up(x: Tensor, name: string): Tensor {
    const { w, b } = this.layers[name]!;
    const spatial = x.shape.slice(1, -1);
    const cout = w.shape[w.shape.length - 2]!;
    const full = [x.shape[0]!, ...spatial.map((n) => 2 * n + 1), cout];
    const y =
      this.spec.dims === 2
        ? tf.conv2dTranspose(x as tf.Tensor4D, w as unknown as tf.Tensor4D, full as [number, number, number, number], 2, "valid")
        : tf.conv3dTranspose(x as tf.Tensor5D, w as unknown as tf.Tensor5D, full as [number, number, number, number, number], 2, "valid");
    const begin = [0, ...spatial.map(() => 1), 0];
    const size = [x.shape[0]!, ...spatial.map((n) => 2 * n), cout];
    return tf.add(tf.slice(y, begin, size), b);
  }

  private reflect(x: Tensor, p: number): Tensor {
    const pads = x.shape.map((_, i) => (i === 0 || i === x.rank - 1 ? [0, 0] : [p, p])) as [number, number][];
    return tf.mirrorPad(x, pads, "reflect");
  }

  /** Zero padding for the stride-2 convs (3D convs take no explicit pads in tfjs). */
  private zeroPad(x: Tensor, p: number): Tensor {
    if (this.spec.dims === 2) return x;
    const pads = x.shape.map((_, i) => (i === 0 || i === x.rank - 1 ? [0, 0] : [p, p])) as [number, number][];
    return tf.pad(x, pads);
  }

  private instanceNorm(x: Tensor): Tensor {
    const axes = x.shape.slice(1, -1).map((_, i) => i + 1);
    const { mean, variance } = tf.moments(x, axes, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
  }

  /** x: [batch, (depth,) height, width, inChannels] -> same spatial size, outChannels. */
  apply(x: Tensor): Tensor {
    const relu = (t: Tensor) => tf.relu(t);
    const down = (t: Tensor, name: string) =>
      relu(this.instanceNorm(this.spec.dims === 2 ? this.conv(t, name, 2, 1) : this.conv(this.zeroPad(t, 1), name, 2, 0)));
    let h = relu(this.instanceNorm(this.conv(this.reflect(x, 3), "c7in", 1, 0)));
    h = down(h, "down1");
    h = down(h, "down2");
    for (let i = 0; i < this.spec.blocks; i++) {
      let r = relu(this.instanceNorm(this.conv(this.reflect(h, 1), `res${i}a`, 1, 0)));
      r = this.instanceNorm(this.conv(this.reflect(r, 1), `res${i}b`, 1, 0));
      h = tf.add(h, r);
    }
    h = relu(this.instanceNorm(this.up(h, "up1")));
    h = relu(this.instanceNorm(this.up(h, "up2")));
    return tf.tanh(this.conv(this.reflect(h, 3), "c7out", 1, 0));
  }
}
