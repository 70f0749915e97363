import { describe, expect, it } from 'vitest';
import { passageSource } from './passage-source';

describe('passageSource', () => {
  it('names the file and its path', () => {
    expect(passageSource({ file_name: 'faq.md', doc_path: 'help/faq.md' })).toBe(
      'faq.md (help/faq.md)',
    );
  });

  it('names only the file when the path is empty or the same', () => {
    expect(passageSource({ file_name: 'faq.md', doc_path: '' })).toBe('faq.md');
    expect(passageSource({ file_name: 'faq.md', doc_path: ' faq.md ' })).toBe('faq.md');
  });

  it('names the page when the chunk has one', () => {
    expect(passageSource({ file_name: 'handbook.pdf', doc_path: '', page: 7 })).toBe(
      'handbook.pdf, page 7',
    );
    expect(passageSource({ file_name: 'a.pdf', doc_path: 'hr/a.pdf', page: 1 })).toBe(
      'a.pdf (hr/a.pdf), page 1',
    );
    expect(passageSource({ file_name: 'faq.md', doc_path: '', page: null })).toBe('faq.md');
  });
});
