// Shared HTML parsing for the HTML diff types: parse5 (the WHATWG tree-construction algorithm,
// so we see the tree a browser builds) with a node-count cap, plus an iterative walker.
// parse5 can take ~150× the input in memory on tag-dense hostile input and has no depth cap,
// so the cap turns "runs the worker out of memory" into a clear 413 long before that.

import { defaultTreeAdapter, parse, type DefaultTreeAdapterMap, type TreeAdapter } from 'parse5';
import { TooLargeError } from '../errors.ts';

export type Document = DefaultTreeAdapterMap['document'];
export type Element = DefaultTreeAdapterMap['element'];
export type ParentNode = DefaultTreeAdapterMap['parentNode'];
export type ChildNode = DefaultTreeAdapterMap['childNode'];
export type TextNode = DefaultTreeAdapterMap['textNode'];
export type Node = DefaultTreeAdapterMap['node'];

export interface ParseHtmlOptions {
  /** Most nodes (elements, text nodes, comments) the tree may hold; beyond it → TooLargeError. */
  maxNodes: number;
  /** Which side this is, for the error message (`a` or `b`). */
  side?: string;
  /**
   * Parse as a browser with scripting on (default: `<noscript>` content is one raw text node)
   * or off (its markup becomes elements, as the anchor's parser does).
   */
  scriptingEnabled?: boolean;
}

/** Parses a whole HTML document. Throws TooLargeError when the tree would exceed `maxNodes`. */
export function parseHtmlDocument(html: string, options: ParseHtmlOptions): Document {
  let nodes = 0;
  const count = (): void => {
    nodes += 1;
    if (nodes > options.maxNodes) {
      const side = options.side === undefined ? 'A document' : `\`${options.side}\``;
      throw new TooLargeError(`${side} has more than ${options.maxNodes} HTML nodes (MAX_HTML_NODES)`, {
        limit: 'html_nodes',
        max_nodes: options.maxNodes,
        ...(options.side === undefined ? {} : { side: options.side }),
      });
    }
  };
  const treeAdapter: TreeAdapter<DefaultTreeAdapterMap> = {
    ...defaultTreeAdapter,
    createElement(tagName, namespaceURI, attrs) {
      count();
      return defaultTreeAdapter.createElement(tagName, namespaceURI, attrs);
    },
    createCommentNode(data) {
      count();
      return defaultTreeAdapter.createCommentNode(data);
    },
    insertText(parentNode, text) {
      // Only a new text node counts; parse5 appends adjacent text to the previous node.
      const last = parentNode.childNodes[parentNode.childNodes.length - 1];
      if (last === undefined || last.nodeName !== '#text') count();
      defaultTreeAdapter.insertText(parentNode, text);
    },
    insertTextBefore(parentNode, text, referenceNode) {
      count();
      defaultTreeAdapter.insertTextBefore(parentNode, text, referenceNode);
    },
  };
  return parse(html, { treeAdapter, scriptingEnabled: options.scriptingEnabled ?? true });
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
