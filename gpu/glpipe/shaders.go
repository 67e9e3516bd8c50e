package glpipe

import (
	"fmt"
	"strings"

	"github.com/podiumhq/podium/gpu/effect"
)

// All passes draw one full-screen triangle; gl_FragCoord.xy is the output
// pixel centre (x+0.5, y+0.5). Row 0 of every texture is row 0 of the image
// (no vertical flip anywhere: uploads, passes and readback all use the
// texture's own row order).
const vertexSrc = `#version 410 core
void main() {
	vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
	gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
`

// header is prepended to every fragment shader. The constants come from
// package effect (BT.601 luma weights and limited-range scale/offsets).
func header() string {
	return fmt.Sprintf(`#version 410 core
const vec3 KY = vec3(%.9f, %.9f, %.9f);
const float YSCALE = %.1f, YOFF = %.1f, CSCALE = %.1f, COFF = %.1f;
ivec2 clampi(ivec2 q, sampler2D s) { return clamp(q, ivec2(0), textureSize(s, 0) - 1); }
`, effect.Kr, effect.Kg, effect.Kb, effect.YScale, effect.YOffset, effect.CScale, effect.COffset)
}

// down: frame (RGBA8, linear filtering) -> working-resolution colour
// (RGBA16F). Four bilinear taps at +-scale/4 average a scale x scale box
// (exactly a 4x4 box when the scale is 4), like OpenCV's INTER_AREA.
const downSrc = `
uniform sampler2D src;
uniform vec2 srcSize;
uniform vec2 dstSize;
out vec4 o;
void main() {
	vec2 s = srcSize / dstSize;
	vec2 c = gl_FragCoord.xy * s;
	vec2 d = s * 0.25;
	o = 0.25 * (texture(src, (c + vec2(-d.x, -d.y)) / srcSize) +
	            texture(src, (c + vec2( d.x, -d.y)) / srcSize) +
	            texture(src, (c + vec2(-d.x,  d.y)) / srcSize) +
	            texture(src, (c + vec2( d.x,  d.y)) / srcSize));
}
`

// guide: working colour + mask (R8, bilinear upsample) -> (I, p, I*p, I*I)
// in RGBA32F, the inputs of the guided filter's box means.
const guideSrc = `
uniform sampler2D small;
uniform sampler2D mask;
out vec4 o;
void main() {
	ivec2 q = ivec2(gl_FragCoord.xy);
	float I = dot(texelFetch(small, q, 0).rgb, KY);
	float p = texture(mask, gl_FragCoord.xy / vec2(textureSize(small, 0))).r;
	o = vec4(I, p, I * p, I * I);
}
`

// box: one direction of a (2r+1) box mean, edge replicated.
const boxSrc = `
uniform sampler2D src;
uniform ivec2 dir;
uniform int r;
out vec4 o;
void main() {
	ivec2 q = ivec2(gl_FragCoord.xy);
	vec4 s = vec4(0.0);
	for (int i = -r; i <= r; i++) s += texelFetch(src, clampi(q + dir * i, src), 0);
	o = s / float(2 * r + 1);
}
`

// coefH: guided-filter coefficients a = cov(I,p)/(var(I)+eps), b = mean(p) -
// a*mean(I) (He et al., eq. 5-6) computed per tap, then the horizontal box
// mean of (a, b).
const coefHSrc = `
uniform sampler2D means;
uniform float eps;
uniform int r;
out vec4 o;
vec2 ab(ivec2 q) {
	vec4 m = texelFetch(means, clampi(q, means), 0);
	float a = (m.z - m.x * m.y) / (m.w - m.x * m.x + eps);
	return vec2(a, m.y - a * m.x);
}
void main() {
	ivec2 q = ivec2(gl_FragCoord.xy);
	vec2 s = vec2(0.0);
	for (int i = -r; i <= r; i++) s += ab(q + ivec2(i, 0));
	o = vec4(s / float(2 * r + 1), 0.0, 1.0);
}
`

// alpha: vertical box mean of (a, b), q = mean_a*I + mean_b, then the
// feather remap smoothstep(lo, hi, q) into an R8 alpha at working size.
const alphaSrc = `
uniform sampler2D abH;
uniform sampler2D guide;
uniform int r;
uniform float lo, hi;
out vec4 o;
void main() {
	ivec2 q = ivec2(gl_FragCoord.xy);
	vec2 s = vec2(0.0);
	for (int i = -r; i <= r; i++) s += texelFetch(abH, clampi(q + ivec2(0, i), abH), 0).xy;
	s /= float(2 * r + 1);
	float I = texelFetch(guide, q, 0).x;
	o = vec4(smoothstep(lo, hi, s.x * I + s.y));
}
`

// gauss: one direction of the Gaussian blur with the weights of
// effect.GaussianKernel, edge replicated.
const gaussSrc = `
uniform sampler2D src;
uniform ivec2 dir;
uniform int R;
uniform float k[32];
out vec4 o;
void main() {
	ivec2 q = ivec2(gl_FragCoord.xy);
	vec4 s = texelFetch(src, q, 0) * k[0];
	for (int i = 1; i <= R; i++)
		s += (texelFetch(src, clampi(q + dir * i, src), 0) + texelFetch(src, clampi(q - dir * i, src), 0)) * k[i];
	o = s;
}
`

// mix: out = mix(bg, fg, a) = bg*(1-a) + fg*a, with a the working-size alpha
// upsampled bilinearly, and optional light wrap fg' = mix(fg, bg, w*4a(1-a)).
// Compiled in variants (no per-pixel branches): BGMODE 0: background is the
// frame itself; 1: working-size blurred frame, upsampled bilinearly;
// 2: background image scaled to cover (effect.Cover). WRAP 0/1: light wrap.
const mixSrc = `
uniform sampler2D frame;
uniform sampler2D alpha;
uniform sampler2D bg;
uniform vec2 invSize;   // 1 / (W, H)
uniform vec2 invBgSize; // 1 / background size
uniform vec3 cover;
uniform float wrap;
out vec4 o;
void main() {
	vec2 uv = gl_FragCoord.xy * invSize;
	vec3 f = texelFetch(frame, ivec2(gl_FragCoord.xy), 0).rgb;
	float a = texture(alpha, uv).r;
#if BGMODE == 0
	vec3 b = f;
#elif BGMODE == 1
	vec3 b = texture(bg, uv).rgb;
#else
	vec3 b = texture(bg, (gl_FragCoord.xy * cover.x + cover.yz) * invBgSize).rgb;
#endif
#if WRAP
	f = mix(f, b, wrap * 4.0 * a * (1.0 - a));
#endif
	o = vec4(mix(b, f, a), 1.0);
}
`

// i420y / i420c: RGBA8 W x H -> one R8 texture laid out as the I420
// planes, drawn in two viewports: rows [0,H) hold Y (columns [0,W)); rows
// [H, H+ch) hold Cb in columns [0,cw) and Cr in [cw, 2cw). Chroma is the 2x2
// mean of RGB (centre siting), edge replicated for odd sizes. BT.601
// limited range (ITU-R BT.601-7 2.5): Y = 16 + 219*(Kr R + Kg G + Kb B),
// Cb = 128 + 224*(B-Y')/(2(1-Kb)), Cr = 128 + 224*(R-Y')/(2(1-Kr)), with
// R,G,B and Y' in 0..1.
const i420ySrc = `
uniform sampler2D rgb;
out vec4 o;
void main() {
	o = vec4((YOFF + YSCALE * dot(texelFetch(rgb, ivec2(gl_FragCoord.xy), 0).rgb, KY)) / 255.0);
}
`

const i420cSrc = `
uniform sampler2D rgb;
uniform int cw;
uniform int H;
out vec4 o;
void main() {
	ivec2 q = ivec2(gl_FragCoord.xy);
	int cx = q.x;
	bool isV = cx >= cw;
	if (isV) cx -= cw;
	ivec2 p = ivec2(2 * cx, 2 * (q.y - H));
	ivec2 mx = textureSize(rgb, 0) - 1;
	vec3 c = 0.25 * (texelFetch(rgb, min(p, mx), 0).rgb + texelFetch(rgb, min(p + ivec2(1, 0), mx), 0).rgb +
	                 texelFetch(rgb, min(p + ivec2(0, 1), mx), 0).rgb + texelFetch(rgb, min(p + ivec2(1, 1), mx), 0).rgb);
	float y = dot(c, KY);
	float v = isV ? (c.r - y) / (2.0 * (1.0 - KY.r)) : (c.b - y) / (2.0 * (1.0 - KY.b));
	o = vec4((COFF + CSCALE * v) / 255.0);
}
`

// badSrc is used by fault injection: it does not compile.
const badSrc = `
out vec4 o;
void main() { o = this_is_not_glsl(; }
`

func fragment(defines, body string) string { return header() + defines + strings.TrimLeft(body, "\n") }
