/**
 * Target selection: one grammar for the CLI's `--on`, the REST API's `on`, token scopes and the
 * console's filter (selector-parse.ts states it). This entry exports the parts: parsing
 * (selector-parse.ts, with name ranges in name-ranges.ts), matching (selector-match.ts) and the
 * forms a selector arrives in (selector-arguments.ts). Pure.
 */
export {parseSelector, selectorLimits, type Body, type Clause, type Selector, type SelectorParse, type TagTerm} from './selector-parse.js';
export {filterBySelector, matchesSelector, resolveSelection, selectAgents, type Selection} from './selector-match.js';
export {expandSelectorArguments, selectorFileValues, selectorValues, type SelectorArguments} from './selector-arguments.js';
