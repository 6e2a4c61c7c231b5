// Shared HTML parsing for the HTML diff types: parse5 (the WHATWG tree-construction algorithm,
// so we see the tree a browser builds) with two caps, plus an iterative walker.
// A parsed tree costs ~120–200 bytes of heap per node and ~80 per attribute, and parse5 has no
// depth cap, so the caps turn "runs the worker out of memory" into a clear 413 long before that:
// a character cap checked before parsing (it also bounds what the tokenizer holds for one tag,
// e.g. a million attributes) and a node cap, attributes included, checked while the tree grows.

import { defaultTreeAdapter, parse, type DefaultTreeAdapterMap, type TreeAdapter } from 'parse5';
import { TooLargeError } from '../errors.ts';

export type Document = DefaultTreeAdapterMap['document'];
export type Element = DefaultTreeAdapterMap['element'];
export type ParentNode = DefaultTreeAdapterMap['parentNode'];
export type ChildNode = DefaultTreeAdapterMap['childNode'];
export type TextNode = DefaultTreeAdapterMap['textNode'];
export type Node = DefaultTreeAdapterMap['node'];

export interface ParseHtmlOptions {
  /** Most nodes (elements, text nodes, comments) plus attributes the tree may hold; beyond it → TooLargeError. */
  maxNodes: number;
  /** Most characters of HTML to parse (MAX_HTML_CHARS); a longer input → TooLargeError before parsing. */
  maxChars?: number;
  /** Which side this is, for the error message (`a` or `b`). */
  side?: string;
  /**
   * Parse as a browser with scripting on (default: `<noscript>` content is one raw text node)
   * or off (its markup becomes elements, as the anchor's parser does).
   */
  scriptingEnabled?: boolean;
}

/**
 * Parses a whole HTML document. Throws TooLargeError when `html` is longer than `maxChars`, or
 * when its nodes plus attributes would exceed `maxNodes`.
 */
export function parseHtmlDocument(html: string, options: ParseHtmlOptions): Document {
  const sideDetails = options.side === undefined ? {} : { side: options.side };
  const subject = options.side === undefined ? 'A document' : `\`${options.side}\``;
  if (options.maxChars !== undefined && html.length > options.maxChars) {
    throw new TooLargeError(`${subject} has more than ${options.maxChars} characters of HTML to parse (MAX_HTML_CHARS)`, {
      limit: 'html_chars',
      max_chars: options.maxChars,
      ...sideDetails,
    });
  }
  let nodes = 0;
  const count = (amount = 1): void => {
    nodes += amount;
    if (nodes > options.maxNodes) {
      throw new TooLargeError(`${subject} has more than ${options.maxNodes} HTML nodes and attributes (MAX_HTML_NODES)`, {
        limit: 'html_nodes',
        max_nodes: options.maxNodes,
        ...sideDetails,
      });
    }
  };
  const text = new TextGatherer();
  const treeAdapter: TreeAdapter<DefaultTreeAdapterMap> = {
    ...defaultTreeAdapter,
    createElement(tagName, namespaceURI, attrs) {
      // An attribute costs about half what an element does: each counts as one node.
      count(1 + attrs.length);
      const element = defaultTreeAdapter.createElement(tagName, namespaceURI, attrs.length === 0 ? NO_ATTRIBUTES : attrs);
      element.childNodes = NO_CHILDREN;
      return element;
    },
    createCommentNode(data) {
      count();
      return defaultTreeAdapter.createCommentNode(data);
    },
    adoptAttributes(recipient, attrs) {
      // A repeated <html> or <body> tag adds its new attributes to the existing element.
      if (recipient.attrs === NO_ATTRIBUTES) recipient.attrs = [];
      const before = recipient.attrs.length;
      defaultTreeAdapter.adoptAttributes(recipient, attrs);
      count(recipient.attrs.length - before);
    },
    appendChild,
    insertText(parentNode, value) {
      // Only a new text node counts; text right after a text node is added to it.
      const last = parentNode.childNodes[parentNode.childNodes.length - 1];
      if (last !== undefined && isTextNode(last)) return text.append(last, value);
      count();
      appendChild(parentNode, defaultTreeAdapter.createTextNode(value));
    },
    insertTextBefore(parentNode, value, referenceNode) {
      const previous = parentNode.childNodes[parentNode.childNodes.indexOf(referenceNode) - 1];
      if (previous !== undefined && isTextNode(previous)) return text.append(previous, value);
      count();
      defaultTreeAdapter.insertTextBefore(parentNode, value, referenceNode);
    },
  };
  const document = parse(html, { treeAdapter, scriptingEnabled: options.scriptingEnabled ?? true });
  text.flush();
  return document;
}

/**
 * One frozen empty list shared by every element until it gets a child (appendChild replaces it)
 * or an attribute (adoptAttributes replaces it): two empty arrays per element were a fifth of a
 * tree. Frozen, so a later attempt to add to one in place fails loudly instead of touching them all.
 */
const NO_CHILDREN = Object.freeze([]) as unknown as ChildNode[];
const NO_ATTRIBUTES = Object.freeze([]) as unknown as Element['attrs'];

/**
 * Appends as the default adapter does, but gives a node's first two children an array of their
 * exact size: `push` on an empty array makes room for 17, and most elements have one or two
 * children, so that spare room was a third of a parsed tree.
 */
function appendChild(parentNode: ParentNode, newNode: ChildNode): void {
  const children = parentNode.childNodes;
  if (children.length === 0) parentNode.childNodes = [newNode];
  else if (children.length === 1) parentNode.childNodes = [children[0]!, newNode];
  else children.push(newNode);
  newNode.parentNode = parentNode;
}

/**
 * Builds the value of a text node that parse5 hands over in many pieces (it emits each word and
 * each whitespace run as its own token). The default adapter appends them with `value +=`, which
 * makes a rope of one ~20-byte cons cell per piece: about 12 bytes of heap per character of text,
 * the bulk of a parsed page. Here the pieces of the node being extended are gathered and joined
 * in chunks (linear time, ~1 byte per character). parse5 never reads a text node's value while
 * parsing, so the node is written when another node is extended, or at the end (`flush`).
 */
class TextGatherer {
  #node: TextNode | undefined;
  #chunks: string[] = [];
  #pieces: string[] = [];

  append(node: TextNode, value: string): void {
    if (node !== this.#node) {
      this.flush();
      this.#node = node;
      this.#pieces.push(node.value);
    }
    this.#pieces.push(value);
    if (this.#pieces.length >= 1024) {
      this.#chunks.push(this.#pieces.join(''));
      this.#pieces = [];
    }
  }

  flush(): void {
    if (this.#node === undefined) return;
    this.#chunks.push(this.#pieces.join(''));
    this.#node.value = this.#chunks.length === 1 ? this.#chunks[0]! : this.#chunks.join('');
    this.#node = undefined;
    this.#chunks = [];
    this.#pieces = [];
  }
}

export function isElement(node: Node): node is Element {
  return 'tagName' in node;
}

export function isTextNode(node: Node): node is TextNode {
  return node.nodeName === '#text';
}

/** Children to walk: a <template>'s content lives in `.content`, not `childNodes`. */
export function childrenOf(node: Node): readonly ChildNode[] {
  if (node.nodeName === 'template' && 'content' in node) {
    return (node as DefaultTreeAdapterMap['template']).content.childNodes;
  }
  return 'childNodes' in node ? node.childNodes : [];
}

export type WalkEvent = { kind: 'enter'; node: Node } | { kind: 'leave'; node: Element };

/**
 * Depth-first walk in document order without recursion (documents can nest 100 000 deep).
 * Yields `enter` for every node and `leave` after an element's children. `skip(element)`
 * returning true skips that element's children (its `leave` is still yielded).
 */
export function* walk(root: Node, skip?: (element: Element) => boolean): Generator<WalkEvent> {
  const stack: { node: Node; index: number }[] = [{ node: root, index: -1 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.index === -1) {
      frame.index = 0;
      yield { kind: 'enter', node: frame.node };
      if (isElement(frame.node) && skip?.(frame.node)) {
        frame.index = Number.POSITIVE_INFINITY;
      }
    }
    const children = childrenOf(frame.node);
    if (frame.index < children.length) {
      const child = children[frame.index]!;
      frame.index += 1;
      stack.push({ node: child, index: -1 });
      continue;
    }
    stack.pop();
    if (isElement(frame.node)) yield { kind: 'leave', node: frame.node };
  }
}

export function getAttribute(element: Element, name: string): string | undefined {
  for (const attr of element.attrs) if (attr.name === name && !attr.prefix) return attr.value;
  return undefined;
}

/** First element with this tag name, in document order. */
export function findFirstElement(root: Node, tagName: string): Element | undefined {
  for (const event of walk(root)) {
    if (event.kind === 'enter' && isElement(event.node) && event.node.tagName === tagName) return event.node;
  }
  return undefined;
}
