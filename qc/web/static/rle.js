// COCO compressed RLE (the string form pycocotools writes), decoded only inside a crop, and painted as outlines.
// Used by the item page for the fused candidates and the focus crops; the annotators' layers come as PNGs.
var QCRle = (function () {
  "use strict";
  function counts(text) {
    var out = [], p = 0;
    while (p < text.length) {
      var x = 0, k = 0, more = 1, c;
      while (more) {
        c = text.charCodeAt(p) - 48;
        x |= (c & 0x1f) << (5 * k);
        more = c & 0x20;
        p++; k++;
        if (!more && (c & 0x10)) { x |= -1 << (5 * k); }
      }
      if (out.length > 2) { x += out[out.length - 2]; }
      out.push(x);
    }
    return out;
  }
  // The box [x, y, w, h] of the set pixels (null for an empty mask).
  function bounds(rle) {
    var h = rle.size[0], c = counts(rle.counts), p = 0, x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    for (var i = 0; i < c.length; i++) {
      if (i % 2 === 1 && c[i] > 0) {
        var end = p + c[i] - 1, xa = Math.floor(p / h), xb = Math.floor(end / h);
        x0 = Math.min(x0, xa); x1 = Math.max(x1, xb);
        y0 = Math.min(y0, xa === xb ? p % h : 0); y1 = Math.max(y1, xa === xb ? end % h : h - 1);
      }
      p += c[i];
    }
    return x1 < 0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
  }
  // The mask inside the crop [x0, y0, w, h], row-major (1 = set); RLE runs go down the columns.
  function crop(rle, x0, y0, w, h) {
    var height = rle.size[0], c = counts(rle.counts), p = 0, out = new Uint8Array(w * h);
    for (var i = 0; i < c.length; i++) {
      if (i % 2 === 1 && c[i] > 0) {
        var end = p + c[i] - 1, xa = Math.floor(p / height), xb = Math.floor(end / height);
        for (var x = Math.max(xa, x0); x <= Math.min(xb, x0 + w - 1); x++) {
          var ya = Math.max(x === xa ? p % height : 0, y0), yb = Math.min(x === xb ? end % height : height - 1, y0 + h - 1);
          for (var y = ya; y <= yb; y++) { out[(y - y0) * w + (x - x0)] = 1; }
        }
      }
      p += c[i];
    }
    return out;
  }
  // RGBA pixels of the mask (w x h): its border pixels opaque in rgb, the inside at fillAlpha.
  function paint(mask, w, h, rgb, fillAlpha) {
    var img = new ImageData(w, h), d = img.data;
    for (var y = 0; y < h; y++) {
      for (var x = 0; x < w; x++) {
        var i = y * w + x;
        if (!mask[i]) { continue; }
        var edge = x === 0 || y === 0 || x === w - 1 || y === h - 1 ||
          !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w];
        if (!edge && !fillAlpha) { continue; }
        d[4 * i] = rgb[0]; d[4 * i + 1] = rgb[1]; d[4 * i + 2] = rgb[2]; d[4 * i + 3] = edge ? 255 : fillAlpha;
      }
    }
    return img;
  }
  function rgbOf(hex) {
    return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
  }
  return { counts: counts, bounds: bounds, crop: crop, paint: paint, rgbOf: rgbOf };
})();
