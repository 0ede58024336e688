import { Box, Text } from 'ink'
import type { ReactNode } from 'react'
import { fit } from '../layout.js'

/** A bordered pane with a title; with the focus, its border is highlighted and its title marked (also readable without colour). */
export function Pane({ title, focused, width, height, children }: { title: string; focused: boolean; width: number; height: number; children?: ReactNode }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={focused ? 'cyan' : 'gray'} width={width} height={height} overflow="hidden">
      <Text bold color={focused ? 'cyan' : undefined} wrap="truncate-end">
        {fit(`${focused ? '▸ ' : '  '}${title}`, width - 2)}
      </Text>
      {children}
    </Box>
  )
}

/** One list row: the cursor row is inverse when the pane has the focus, marked otherwise. */
export function Row({ text, width, selected, focused, color, dim }: { text: string; width: number; selected?: boolean; focused?: boolean; color?: string; dim?: boolean }) {
  const line = fit(`${selected ? '›' : ' '} ${text}`, width)
  return (
    <Text inverse={Boolean(selected && focused)} color={color} dimColor={dim} wrap="truncate-end">
      {line}
    </Text>
  )
}

/** Lines a pane of `height` rows has for content (borders and the title take three). */
export const contentRows = (height: number) => Math.max(0, height - 3)
export const contentWidth = (width: number) => Math.max(0, width - 2)
