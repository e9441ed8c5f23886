// lib/viz: figures as plotly objects (one builder per figure), images from volumes and PNG
// without a browser, export to HTML/PNG/SVG (headless Chromium), and notebook display.
export * from "./figure.js";
export * from "./png.js";
export * from "./imageGrid.js";
export * from "./imageFigures.js";
export * from "./styleSpaceFigures.js";
export * from "./metricBoxFigures.js";
export * from "./qualityBarsFigure.js";
export * from "./trainingCurvesFigure.js";
export * from "./export.js";
export * from "./display.js";
