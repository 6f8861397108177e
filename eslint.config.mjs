// ESLint for the addon's front end (Odoo 18 ES modules, OWL).
import js from "@eslint/js";
import globals from "globals";

export default [
    { ignores: ["node_modules/**"] },
    js.configs.recommended,
    {
        files: ["static/**/*.js"],
        languageOptions: {
            ecmaVersion: 2024,
            sourceType: "module",
            globals: { ...globals.browser, odoo: "readonly" },
        },
        rules: {
            "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            "no-console": "error",
            eqeqeq: ["error", "smart"],
            "prefer-const": "error",
            "no-var": "error",
            curly: "error",
        },
    },
];
