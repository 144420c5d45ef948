// Lint and format, as Effect's own repository does: ESLint with typescript-eslint's recommended rules and
// `@effect/eslint-plugin`, whose `@effect/dprint` rule formats with dprint's TypeScript plugin.
// `npm run lint` checks; `npm run lint:fix` rewrites the files.
import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    // the generated modules (npm run generate) are written as the generators write them
    ignores: ["**/dist/**", "**/node_modules/**", "**/*.md", "**/luaScripts.ts", "**/dashboardAssets.ts"]
  },
  {
    files: [
      "src/**/*.ts",
      "shared/**/*.ts",
      "test/**/*.ts",
      "bench/**/*.ts",
      "scripts/**/*.ts",
      "examples/**/*.ts",
      "dashboard/**/*.ts",
      "effect4/**/*.ts",
      "*.ts"
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    languageOptions: {
      parser: tseslint.parser,
      ecmaVersion: 2022,
      sourceType: "module"
    },
    rules: {
      "no-fallthrough": "off",
      // TypeScript resolves names
      "no-undef": "off",
      // the code matches control and invisible characters on purpose: it refuses or escapes them in untrusted input
      "no-control-regex": "off",
      "no-misleading-character-class": "off",
      "no-irregular-whitespace": "off",
      "object-shorthand": "error",
      "prefer-destructuring": "off",
      "sort-imports": "off",
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name='push'] > SpreadElement.arguments",
          message: "Do not use spread arguments in Array.push"
        }
      ],
      "no-unused-vars": "off",
      "require-yield": "off",
      "prefer-rest-params": "off",
      "prefer-spread": "off",
      "@typescript-eslint/array-type": ["warn", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-unsafe-function-type": "off",
      "@typescript-eslint/no-wrapper-object-types": "off",
      "@typescript-eslint/consistent-type-imports": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/ban-ts-comment": "off",
      "@typescript-eslint/no-array-constructor": "off",
      "@typescript-eslint/no-use-before-define": "off",
      "@typescript-eslint/no-namespace": "off",
      // Effect's settings (two spaces, no semicolons, double quotes, lines up to 120, no trailing commas),
      // with imports and exports kept in the order they are written
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force",
            "module.sortImportDeclarations": "maintain",
            "module.sortExportDeclarations": "maintain",
            "importDeclaration.sortNamedImports": "maintain",
            "exportDeclaration.sortNamedExports": "maintain",
            useBraces: "maintain"
          }
        }
      ]
    }
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name='push'] > SpreadElement.arguments",
          message: "Do not use spread arguments in Array.push"
        },
        {
          // (inside a layer suite, its own `it.layer` nests a suite: that one is fine)
          selector:
            "CallExpression[callee.object.name='it'][callee.property.name='layer']:not(ArrowFunctionExpression[params.0.name='it'] CallExpression)",
          message:
            "Use `layer` of test/support/layer.ts: `it.layer` leaks its services and TestClock into the tests after it"
        },
        {
          selector: "ImportDeclaration[source.value='@effect/vitest'] > ImportSpecifier[imported.name='layer']",
          message:
            "Use `layer` of test/support/layer.ts: @effect/vitest's leaks its services and TestClock into the tests after it"
        }
      ]
    }
  },
  {
    // the library writes nothing to the console
    files: ["src/**/*.ts", "shared/**/*.ts", "effect4/src/**/*.ts"],
    ignores: ["src/cli.ts", "effect4/src/cli.ts"],
    rules: {
      "no-console": "error"
    }
  },
  {
    // shared/ is the Effect-free code both editions build from, test/shared/ the Effect-free test
    // support and scenarios both editions' suites run: no Effect, and nothing of an edition
    files: ["shared/**/*.ts", "test/shared/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["effect", "effect/*", "@effect/*"],
              message: "shared/ imports no Effect: each edition adapts it (ARCHITECTURE.md, \"Editions\")"
            },
            {
              group: ["**/src", "**/src/**", "**/effect4", "**/effect4/**", "**/support/**"],
              message: "shared/ imports nothing of an edition: each edition imports shared/"
            }
          ]
        }
      ]
    }
  }
)
