// @pulumi/eslint-plugin 0.3.1 ships JavaScript without type declarations; eslint.config.mjs, which
// is type-checked like the rest of the project, imports it as an ESLint plugin.
declare module "@pulumi/eslint-plugin" {
  const plugin: import("eslint").ESLint.Plugin;
  export default plugin;
}
