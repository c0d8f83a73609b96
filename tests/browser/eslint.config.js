// ESLint for the workbench's modules, which the service serves as they are (no build step):
// what is linted here is exactly what runs. Paths are from the repository root, where
// `npm run lint` runs ESLint.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    files: ["runtime/ui/**/*.js", "tests/browser/*.js"],
    ...js.configs.recommended,
  },
  {
    files: ["runtime/ui/**/*.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
    // Prettier wraps what it can; this catches what it cannot, such as a long string.
    rules: { "max-len": ["error", { code: 120, ignoreUrls: true }] },
  },
  {
    files: ["tests/browser/*.js"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
