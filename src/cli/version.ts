/**
 * The package version `xen-stream --version` prints. It is package.json's
 * "version" (test/cli/version.test.ts fails when they differ, so a release
 * bump cannot forget it).
 *
 * @module
 * @internal
 */

/** package.json "version". @internal */
export const PACKAGE_VERSION = "0.1.0";
