// Lint configuration: typescript-eslint's recommended type-aware rules plus Pulumi's own rules
// (Outputs never stringified in template literals), over every JavaScript and TypeScript file of the
// project, this one included: all of them are in tsconfig.json's program (JavaScript with checkJs).
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
  { ignores: ["node_modules/**", "tools/build/node24/**", "out/**", "bench-results/**"] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ["./tsconfig.json"], tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@pulumi": pulumi },
    rules: {
      // An Output inside a template literal renders as a warning string, not its value: use pulumi.interpolate.
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always"],
      "prefer-const": "error",
    },
  },
  {
    // Node 24 runs these as they are, stripping types without reading other files: an import used
    // only as a type must say so, or Node looks for a value the module does not export.
    files: ["**/*.mts"],
    rules: { "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }] },
  },
  {
    // The Node launcher runs on any Node version before Node 24 exists: CommonJS, require().
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
